// kustomize-controller's spec fields applied on top of the folder's kustomization.
import { describe, expect, it } from "vitest";
import { applyFluxSpec } from "../../src/core/build/render.js";

describe("applyFluxSpec images", () => {
  it("replaces the kustomization's first image of the same name and appends the others, in order", () => {
    const kustomization: Record<string, unknown> = { images: [{ name: "web", newTag: "1" }, { name: "api", newTag: "1" }, { name: "web", newTag: "x" }] };
    applyFluxSpec(kustomization, { images: [{ name: "web", newTag: "2" }, { name: "db", newTag: "1" }, { name: "db", newTag: "2" }] });
    expect(kustomization.images).toEqual([{ name: "web", newTag: "2" }, { name: "api", newTag: "1" }, { name: "web", newTag: "x" }, { name: "db", newTag: "2" }]);
  });

  it("merges 200,000 images by name in one pass (a search per image took minutes)", () => {
    const images = (prefix: string) => Array.from({ length: 200_000 }, (_, i) => ({ name: `${prefix}${i}` }));
    const kustomization: Record<string, unknown> = { images: images("a") };
    applyFluxSpec(kustomization, { images: [...images("b"), { name: "a7", newTag: "2" }] });
    const merged = kustomization.images as Array<Record<string, unknown>>;
    expect([merged.length, merged[7], merged.at(-1)]).toEqual([400_000, { name: "a7", newTag: "2" }, { name: "b199999" }]);
  });
});
