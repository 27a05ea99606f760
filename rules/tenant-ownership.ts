import type { OwnershipEntry, Rule, Territory } from "../src/core/types.js";

export const tenantOwnership: Rule = {
  meta: {
    id: "tenant-ownership",
    defaultSeverity: "error",
    summary: "Every changed path is changed by one of its CODEOWNERS owners, or approved by one at the pull request's head commit.",
    rationale:
      "In a shared fleet repository a tenant team that edits the platform's files or another tenant's can take over their namespaces, accounts and clusters. GitHub's CODEOWNERS only requests reviews; this rule enforces them.",
  },
  check(context) {
    // The base side of a rename no longer exists: its finding goes on the file it became.
    const renamedTo = new Map(context.changedFiles.flatMap((file) => (file.previousPath !== undefined ? [[file.previousPath, file.path] as const] : [])));
    return context.ownership.entries
      .filter((entry) => !entry.allowed)
      .map((entry) => {
        const newPath = renamedTo.get(entry.path);
        const message = deniedMessage(entry, context.territory(entry.path));
        return {
          path: newPath ?? entry.path,
          line: 1,
          endLine: 1,
          message: newPath ? `Renamed from \`${entry.path}\`: ${message}` : message,
        };
      });
  },
};

function deniedMessage(entry: OwnershipEntry, territory: Territory): string {
  const place = territory.kind === "tenant" ? `belongs to tenant ${territory.tenant.name}` : "is platform territory";
  if (entry.owners.length === 0) {
    return `\`${entry.path}\` ${place}, no CODEOWNERS line owns it and no platform owner is configured, so nobody can approve this change: add an owner line to CODEOWNERS or set platform.owners in .github/fleet-warden.yml (on the base branch).`;
  }
  const who = entry.owners.length === 1 ? entry.owners[0] : `one of ${entry.owners.join(", ")}`;
  return `\`${entry.path}\` ${place}; approval needed from ${who} (the author is not an owner, and no owner approved the current head commit).`;
}
