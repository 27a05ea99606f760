// Where rule documentation lives; a fork or an enterprise install can point it elsewhere.
const DEFAULT_DOCS_BASE = "https://github.com/fleet-warden/fleet-warden/blob/main/docs/rules";

export function ruleDocsUrl(rule: string, base = process.env.FLEET_WARDEN_DOCS_URL ?? DEFAULT_DOCS_BASE): string {
  return `${base.replace(/\/+$/, "")}/${rule}.md`;
}
