/** FFMPEG_PATH reaches ffmpeg through config and the runtime's `useFfmpegBinary`, never process.env. */
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { ffmpegPath, runFfmpeg, useFfmpegBinary } from "../../src/media/ffmpeg.ts";

afterEach(() => useFfmpegBinary(undefined));

describe("the ffmpeg binary", () => {
  it("is the bundled build unless config names one", async () => {
    const bundled = ffmpegPath();
    expect(bundled).toMatch(/ffmpeg/);
    const config = loadConfig({ FFMPEG_PATH: "/nonexistent/ffmpeg" });
    useFfmpegBinary(config.FFMPEG_PATH);
    expect(ffmpegPath()).toBe("/nonexistent/ffmpeg");
    await expect(runFfmpeg(["-version"], { timeoutMs: 5000 })).rejects.toMatchObject({ code: "media_unavailable" });
    useFfmpegBinary(loadConfig({}).FFMPEG_PATH);
    expect(ffmpegPath()).toBe(bundled);
  });
});
