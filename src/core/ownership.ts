// CODEOWNERS-style ownership of every changed path, judged by the base branch's CODEOWNERS.
import type { Config } from "./config.js";
import type { OwnershipReport, PullRequestFacts, TenantInfo } from "./types.js";

export async function evaluateOwnership(_facts: PullRequestFacts, _config: Config, _tenants: TenantInfo[]): Promise<OwnershipReport> {
  return { entries: [], notices: [] };
}
