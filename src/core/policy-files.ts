// Which policy files a pull request is judged by, read through whatever reader the caller has (snapshot, git, API).
import { CODEOWNERS_PATHS } from "./codeowners.js";
import { CONFIG_PATH } from "./config.js";
import type { PolicyFile, PullRequestFacts } from "./types.js";

export type PolicyReader = (path: string) => Promise<string | undefined>;

/** `.github/fleet-warden.yml` and the first CODEOWNERS GitHub would use. */
export async function readPolicy(read: PolicyReader): Promise<PullRequestFacts["policy"]> {
  const file = async (path: string): Promise<PolicyFile | undefined> => {
    const text = await read(path);
    return text === undefined ? undefined : { path, text };
  };
  const config = await file(CONFIG_PATH);
  let codeowners: PolicyFile | undefined;
  for (const path of CODEOWNERS_PATHS) {
    codeowners = await file(path);
    if (codeowners) break;
  }
  return { ...(config ? { config } : {}), ...(codeowners ? { codeowners } : {}) };
}
