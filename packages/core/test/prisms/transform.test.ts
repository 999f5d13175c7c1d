import { describe, expect, it } from "vitest";
import { allPrisms, listPrisms, toPrismBody } from "../../src/prisms/catalog.ts";
import { ffmpegVideoFilter, solidPng, transformPng, transformAsset } from "../../src/prisms/transform.ts";
import { applyRecipe } from "../../src/prisms/recipe.ts";
import type { ImageRequest } from "../../src/generation/submit.ts";
import { meanRgb } from "../../src/characters/train.ts";
import { loadCatalog } from "../../src/pricing/catalog.ts";
import { PNG } from "pngjs";
import { renderTestPatternVideo } from "../../src/media/test-pattern-video.ts";

describe("prism catalog", () => {
  it("is well formed: unique ids, media, default models in the pricing catalog, a transform per media", () => {
    const prisms = allPrisms();
    expect(prisms.length).toBeGreaterThanOrEqual(8);
    expect(new Set(prisms.map((p) => p.id)).size).toBe(prisms.length);
    const catalog = loadCatalog();
    for (const p of prisms) {
      expect(p.id).toMatch(/^[a-z0-9-]+$/);
      expect(p.compatible_with.length).toBeGreaterThan(0);
      for (const media of p.compatible_with) {
        const model = p.recipe.default_models?.[media];
        expect(model, `${p.id} default ${media} model`).toBeDefined();
        expect(catalog.byModel(model!)?.kind).toBe(media);
      }
      if (p.compatible_with.includes("image") || p.compatible_with.includes("video")) expect(p.recipe.transform?.length).toBeGreaterThan(0);
      if (p.compatible_with.includes("audio")) expect(p.recipe.audio_filter).toBeTruthy();
      expect(Object.keys(toPrismBody(p))).not.toContain("recipe");
    }
  });

  it("filters by category and media", () => {
    expect(listPrisms({ compatible_with: "audio" }).map((p) => p.id)).toEqual(["lofi-radio", "telephone-call", "cathedral-echo", "warm-tape"]);
    expect(listPrisms({ category: "cinematic" }).every((p) => p.category === "cinematic")).toBe(true);
    expect(listPrisms({})).toHaveLength(allPrisms().length);
  });

  it("applyRecipe: prefix/suffix, negative prompt merged, defaults only where absent", () => {
    const noir = allPrisms().find((p) => p.id === "cinematic-noir")!;
    const out = applyRecipe<ImageRequest>(noir, "image", { model: "local/image", prompt: " a cat ", negative_prompt: "blurry", aspect_ratio: "1:1" });
    expect(out.prompt).toBe("film noir still, a cat, black and white, dramatic chiaroscuro lighting, 35mm grain");
    expect(out.negative_prompt).toBe("blurry, color, saturated, cartoon");
    expect(out.aspect_ratio).toBe("1:1");
    expect(out.prism_id).toBe("cinematic-noir");
    expect(applyRecipe<ImageRequest>(noir, "image", { model: "local/image", prompt: "a" }).aspect_ratio).toBe("16:9");
  });
});

describe("transformPng", () => {
  const px = (bytes: Uint8Array, x: number, y: number) => {
    const png = PNG.sync.read(Buffer.from(bytes));
    const i = (y * png.width + x) * 4;
    return [png.data[i], png.data[i + 1], png.data[i + 2]];
  };

  it("grayscale, sepia, posterize, contrast, vignette, tint", () => {
    const src = solidPng(200, 100, 50, 32);
    const gray = transformPng(src, [{ op: "grayscale" }]);
    const [r, g, b] = px(gray.bytes, 5, 5);
    expect(r).toBe(g);
    expect(g).toBe(b);
    expect(gray.width).toBe(32);

    const sepia = meanRgb(Buffer.from(transformPng(solidPng(128, 128, 128), [{ op: "sepia" }]).bytes))!;
    expect(sepia[0]).toBeGreaterThan(sepia[2]);

    expect(px(transformPng(src, [{ op: "posterize", levels: 2 }]).bytes, 0, 0)).toEqual([255, 0, 0]);
    expect(px(transformPng(solidPng(150, 150, 150), [{ op: "contrast", amount: 2 }]).bytes, 0, 0)).toEqual([172, 172, 172]);
    expect(px(transformPng(solidPng(0, 0, 0), [{ op: "tint", color: [255, 0, 0], amount: 0.5 }]).bytes, 0, 0)).toEqual([128, 0, 0]);

    const vig = transformPng(solidPng(200, 200, 200, 64), [{ op: "vignette", strength: 0.6 }]).bytes;
    expect(px(vig, 0, 0)[0]!).toBeLessThan(px(vig, 32, 32)[0]!);
  });

  it("is deterministic", () => {
    const src = solidPng(10, 200, 90, 16);
    const ops = allPrisms().find((p) => p.id === "pop-art-poster")!.recipe.transform!;
    expect(Buffer.from(transformPng(src, ops).bytes).equals(Buffer.from(transformPng(src, ops).bytes))).toBe(true);
  });

  it("ffmpeg filter chains for every video prism run on the bundled ffmpeg", async () => {
    expect(ffmpegVideoFilter([{ op: "grayscale" }, { op: "contrast", amount: 1.5 }])).toBe("hue=s=0,eq=contrast=1.5,format=yuv420p");
    const video = await renderTestPatternVideo({ prompt: "p", seed: 1, durationS: 1, width: 160, height: 90, withAudio: false, timeoutMs: 60_000 });
    for (const prism of allPrisms().filter((p) => p.compatible_with.includes("video"))) {
      const out = await transformAsset(prism, { bytes: video, contentType: "video/mp4" }, new AbortController().signal);
      expect(out.contentType, prism.id).toBe("video/mp4");
      expect(Buffer.from(out.bytes).subarray(4, 8).toString()).toBe("ftyp");
      expect(out.width).toBe(160);
    }
  });
});
