// A GitHub request that gets no answer is aborted after GITHUB_REQUEST_TIMEOUT_MS, as set when the client is made:
// `npm start` makes fleet-warden's Octokit class before Probot applies `.env`.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { afterEach, expect, it, vi } from "vitest";
import { fleetWardenOctokit } from "../src/github/octokit.js";

let silent: Server | undefined;
afterEach(() => {
  silent?.closeAllConnections();
  silent?.close();
  vi.unstubAllEnvs();
});

it("takes GITHUB_REQUEST_TIMEOUT_MS set after the class was made (from .env)", async () => {
  const Octokit = fleetWardenOctokit();
  vi.stubEnv("GITHUB_REQUEST_TIMEOUT_MS", "200");
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent!.listen(0, "127.0.0.1", resolve));
  nock.enableNetConnect("127.0.0.1");
  const octokit = new Octokit({ baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, retry: { enabled: false }, throttle: { enabled: false } });
  await expect(octokit.request("GET /zen")).rejects.toThrow("GitHub did not answer within 0.2 s");
});
