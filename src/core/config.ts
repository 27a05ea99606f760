// `.github/fleet-warden.yml`, always read from the base branch: a pull request cannot loosen the policy that judges it.
import { z } from "zod";
import { ownerKind } from "./codeowners.js";
import { isRecord } from "./values.js";
import { parseYamlSafely } from "./yaml.js";

export const CONFIG_PATH = ".github/fleet-warden.yml";

const severitySetting = z.enum(["error", "warning", "notice", "off"]);

const tenantSchema = z.strictObject({
  name: z.string().min(1),
  paths: z.array(z.string().min(1)).min(1),
  namespaces: z.array(z.string().min(1)).default([]),
  serviceAccount: z.string().min(1).optional(),
});

export const configSchema = z.strictObject({
  tenants: z.array(tenantSchema).optional(),
  platform: z
    .strictObject({
      paths: z.array(z.string().min(1)).optional(),
      // Who approves paths that no CODEOWNERS line owns (default: the owners of the CODEOWNERS `*` line).
      owners: z.array(z.string().refine((owner) => ["user", "team"].includes(ownerKind(owner) ?? ""), "must be @user or @org/team")).min(1).optional(),
    })
    .default({}),
  imageUpdates: z
    .strictObject({
      branches: z.array(z.string().min(1)).default(["flux-image-updates", "flux-image-updates-*"]),
      authors: z.array(z.string().min(1)).default(["fluxcdbot"]),
      mergeMethod: z.enum(["merge", "squash", "rebase"]).default("squash"),
      allowMajor: z.boolean().default(false),
    })
    .default({
      branches: ["flux-image-updates", "flux-image-updates-*"],
      authors: ["fluxcdbot"],
      mergeMethod: "squash",
      allowMajor: false,
    }),
  rules: z.record(z.string(), severitySetting).default({}),
  exclude: z.array(z.string().min(1)).default([]),
});

export type Config = z.infer<typeof configSchema>;
export type SeveritySetting = z.infer<typeof severitySetting>;

export const defaultConfig: Config = configSchema.parse({});

export type ConfigResult = { ok: true; config: Config } | { ok: false; config: Config; errors: string[] };

/**
 * Parses the config text. A broken config never crashes and never silently falls back:
 * the caller gets the defaults to keep evaluating with, and errors that name the key.
 */
export function parseConfig(text: string | undefined, knownRules: readonly string[] = []): ConfigResult {
  if (text === undefined) return { ok: true, config: defaultConfig };
  const parsed = parseYamlSafely(text, CONFIG_PATH);
  if (parsed.error) {
    return { ok: false, config: defaultConfig, errors: [`${CONFIG_PATH}:${parsed.error.line}: ${parsed.error.message}`] };
  }
  if (parsed.documents.length > 1) {
    return { ok: false, config: defaultConfig, errors: [`${CONFIG_PATH}: expected one YAML document, found ${parsed.documents.length}`] };
  }
  const value = parsed.documents[0]?.value ?? {};
  const result = configSchema.safeParse(value ?? {});
  // Unknown rule ids are named along with any other error: one push to fix them all, not one per error.
  const rules = isRecord(value) && isRecord(value.rules) ? Object.keys(value.rules) : [];
  const unknownRules = knownRules.length > 0 ? rules.filter((id) => !knownRules.includes(id)) : [];
  const errors = [
    ...(result.success ? [] : result.error.issues.map((issue) => `${CONFIG_PATH}: \`${issue.path.length > 0 ? issue.path.join(".") : "(top level)"}\`: ${issue.message}`)),
    ...unknownRules.map((id) => `${CONFIG_PATH}: \`rules.${id}\`: unknown rule id (known: ${knownRules.join(", ")})`),
  ];
  if (!result.success) return { ok: false, config: defaultConfig, errors };
  // The rest of a config whose only fault is an unknown rule id still applies (its tenants, its other rules).
  return errors.length > 0 ? { ok: false, config: result.data, errors } : { ok: true, config: result.data };
}
