// Tarballs built entry by entry, for the snapshot reader: hostile ones included.
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";

export interface TarEntry {
  name: string;
  type?: "file" | "symlink" | "link" | "fifo" | "directory";
  linkname?: string;
  /** The file's content (text, or exact bytes). */
  text?: string | Buffer;
}

/** A gzipped tarball of exactly these entries, in this order. */
export async function tarball(entries: TarEntry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on("data", (chunk) => void chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve) => archive.on("end", () => resolve()));
  for (const entry of entries) {
    const { text, ...header } = entry;
    await new Promise<void>((resolve, reject) => archive.entry({ mode: 0o644, ...header }, text ?? "", (error) => (error ? reject(error) : resolve())));
  }
  archive.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}
