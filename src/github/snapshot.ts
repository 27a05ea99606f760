// A repository snapshot per sha: one tarball call, read safely (see src/snapshot.ts). A download that stalls
// (GitHub sends nothing for GITHUB_REQUEST_TIMEOUT_MS) fails, and `signal` stops it.
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { extractSnapshot, type Snapshot } from "../snapshot.js";
import { requestTimeoutMs, type Octokit, type RepoRef } from "./octokit.js";

export async function downloadSnapshot(octokit: Octokit, repo: RepoRef, sha: string, label: string, signal?: AbortSignal): Promise<Snapshot> {
  const response = await octokit.rest.repos.downloadTarballArchive({
    ...repo,
    ref: sha,
    // Stream it: a fleet repository's tarball can be large, and parsing would buffer it whole.
    request: { parseSuccessResponseBody: false, ...(signal ? { signal } : {}) },
  });
  const body = response.data as unknown;
  const stream =
    body instanceof ArrayBuffer
      ? Readable.from(Buffer.from(body))
      : body && typeof (body as WebReadableStream).getReader === "function"
        ? Readable.fromWeb(body as WebReadableStream)
        : Readable.from(Buffer.from(String(body ?? "")));
  // GitHub's tarball wraps the tree in one folder named owner-repo-sha.
  return extractSnapshot(stream, { strip: 1, gzip: true, label: `${label} snapshot (${sha.slice(0, 7)})`, idleTimeoutMs: requestTimeoutMs(), ...(signal ? { signal } : {}) });
}
