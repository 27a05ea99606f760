import { valueAt } from "../src/core/values.js";
import type { FleetModel } from "../src/core/fleet.js";
import type { Fix, Rule, RuleContext, RuleFinding } from "../src/core/types.js";
import { isKustomizationFile } from "../src/core/build/kustomization.js";
import { kustomizationPrefix } from "./lib/inline-patches.js";
import { findingAt, asMapping, baseContainerOf, describeContainer, placeOf, setScalarFix, workloadsToCheck, type Container, type Place, type Workload } from "./lib/workloads.js";

export interface ImageReference {
  /** The image without tag or digest, e.g. `ghcr.io/stefanprodan/podinfo`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `registry[:port]/path[:tag][@digest]`; the tag is the part after the last `:` of the last path segment. */
export function parseImage(image: string): ImageReference {
  const at = image.indexOf("@");
  const name = at === -1 ? image : image.slice(0, at);
  const digest = at === -1 ? undefined : image.slice(at + 1);
  const colon = name.lastIndexOf(":");
  const tagged = colon > name.lastIndexOf("/");
  return {
    repository: tagged ? name.slice(0, colon) : name,
    ...(tagged ? { tag: name.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** A digest, or a tag other than `latest`. */
function isPinned(image: ImageReference): boolean {
  return image.digest !== undefined || (image.tag !== undefined && image.tag !== "latest");
}

export const imageTagPinned: Rule = {
  meta: {
    id: "image-tag-pinned",
    defaultSeverity: "error",
    summary: "Every container image names a tag other than `latest`, or a digest.",
    rationale:
      "`latest` (which is also what an image without a tag means) moves: what runs changes with no commit in the fleet repository, nodes run different builds of the same pod, and a rollback cannot bring the previous image back.",
  },
  check(context) {
    const findings: RuleFinding[] = [];
    for (const workload of workloadsToCheck(context)) {
      for (const container of workload.pod.containers) {
        const image = container.value.image;
        // `${…}` is filled in by Flux's post-build substitution: the variable decides.
        if (typeof image !== "string" || image.includes("${")) continue;
        const reference = parseImage(image);
        if (isPinned(reference)) continue;
        // Judging a source file, a kustomize `images:` entry may pin the image when it is built.
        if (!workload.target.build && pinnedByKustomizeImages(context.head, reference.repository)) continue;
        const written = placeOf(context, workload, container, ["image"], image);
        const place = written.exact || written.line !== undefined || !workload.target.build ? written : (imagesEntryPlace(context, workload, reference.repository) ?? written);
        const fix = pinToBase(context, place, workload, container, reference);
        const problem =
          reference.tag === undefined
            ? `uses image "${image}" without a tag or digest, so the node pulls "${image}:latest"`
            : `uses image "${image}"`;
        findings.push(
          findingAt(place, `${describeContainer(workload, container)} ${problem}: \`latest\` moves, so what runs can change without a commit. Pin a version tag or a digest.`, fix),
        );
      }
    }
    return findings;
  },
};

/**
 * Pins to the tag (or digest) that the base branch already pins for the same container and repository:
 * the whole image on an `image:` line, the tag on a kustomize `newTag:` line.
 */
function pinToBase(context: RuleContext, place: Place, workload: Workload, container: Container, reference: ImageReference): Fix | undefined {
  const baseImage = baseContainerOf(context, { target: workload.target, path: [], exact: true }, container)?.container.value.image;
  if (typeof baseImage !== "string" || baseImage.includes("${")) return undefined;
  const base = parseImage(baseImage);
  if (base.repository !== reference.repository || !isPinned(base)) return undefined;
  if (!place.path.includes("images")) return setScalarFix(place, "image", baseImage, `Pin the image the base branch runs: ${baseImage}`, true);
  return base.tag && base.tag !== "latest" ? setScalarFix(place, "newTag", base.tag, `Pin the tag the base branch runs: ${base.tag}`, true) : undefined;
}

/** For a rendered image that no document writes: the `images:` entry of a changed kustomization (or Flux Kustomization) that sets it. */
function imagesEntryPlace(context: RuleContext, workload: Workload, repository: string): Place | undefined {
  for (const doc of context.changedDocuments) {
    const prefix = kustomizationPrefix(doc);
    const images = prefix ? valueAt(doc.value, [...prefix, "images"]) : undefined;
    if (!prefix || !Array.isArray(images)) continue;
    // kustomize renames `name` to `newName` when it sets one.
    const index = images.findIndex((entry) => (asMapping(entry)?.newName ?? asMapping(entry)?.name) === repository);
    if (index === -1) continue;
    const key = asMapping(images[index])?.newTag !== undefined ? "newTag" : "name";
    return { target: { ...workload.target, path: doc.path, doc, line: doc.startLine }, path: [...prefix, "images", index, key], exact: true };
  }
  return undefined;
}

const pinnedImagesCache = new WeakMap<FleetModel, Set<string>>();

/**
 * True when a kustomization (`images:`) or a Flux Kustomization (`spec.images`) anywhere in the
 * repository pins this image name with a tag other than `latest` or a digest.
 */
function pinnedByKustomizeImages(model: FleetModel, repository: string): boolean {
  let pinned = pinnedImagesCache.get(model);
  if (!pinned) {
    pinned = new Set();
    const lists = [
      ...model
        .paths()
        .filter(isKustomizationFile)
        .map((path) => asMapping(model.file(path)?.documents[0]?.value)?.images),
      ...model.fluxObjectsOfKind("Kustomization").map((doc) => asMapping(doc.object?.spec)?.images),
    ];
    for (const images of lists) {
      if (!Array.isArray(images)) continue;
      for (const entry of images.map(asMapping)) {
        const newTag = entry?.newTag === undefined || entry.newTag === null ? undefined : String(entry.newTag);
        if (typeof entry?.name === "string" && (typeof entry.digest === "string" || (newTag !== undefined && newTag !== "latest"))) pinned.add(entry.name);
      }
    }
    pinnedImagesCache.set(model, pinned);
  }
  return pinned.has(repository);
}
