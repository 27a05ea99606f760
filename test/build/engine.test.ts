// The kustomize engine: how it is found, the sandbox it runs in, its limits, and its error messages.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { canLimitMemory, canUnshare, cleanError, findKustomize, isolationOf, isolationSetting, isolationWarning, kustomizeIsolation, runKustomize, sandboxEnv, type KustomizeEngine } from "../../src/core/build/engine.js";
import { tempDir } from "../helpers/fleet.js";

function executable(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, "#!/bin/sh\nexit 0\n");
  chmodSync(path, 0o755);
  return path;
}

/** A build of `folder`, its own sandbox. */
const at = (folder: string) => ({ sandbox: folder, folder });

const shell = (script: string): KustomizeEngine => ({ description: "test engine", command: "/bin/sh", args: () => ["-c", script] });

describe("finding kustomize", () => {
  it("prefers KUSTOMIZE_BIN, then kustomize on PATH, then kubectl kustomize", () => {
    const dir = tempDir();
    const kubectl = executable(dir, "kubectl");
    expect(findKustomize({ PATH: dir })).toMatchObject({ description: "kubectl kustomize", command: kubectl });
    expect(findKustomize({ PATH: dir })?.args("/x")).toEqual(["--server=http://127.0.0.1:9", "kustomize", "/x", "--load-restrictor", "LoadRestrictionsNone"]);
    const kustomize = executable(dir, "kustomize");
    expect(findKustomize({ PATH: dir })).toMatchObject({ description: "kustomize", command: kustomize });
    expect(findKustomize({ PATH: dir })?.args("/x")).toEqual(["build", "/x", "--load-restrictor", "LoadRestrictionsNone"]);
    const pinned = executable(tempDir(), "kustomize-5.7");
    expect(findKustomize({ PATH: dir, KUSTOMIZE_BIN: pinned })).toMatchObject({ description: "kustomize", command: pinned });
  });

  it("finds nothing when there is nothing to find", () => {
    expect(findKustomize({ PATH: tempDir() })).toBeUndefined();
    expect(findKustomize({ PATH: "", KUSTOMIZE_BIN: "/nonexistent/kustomize" })).toBeUndefined();
  });
});

describe("the sandbox", () => {
  it("passes PATH and nothing else of the caller's environment", () => {
    const env = sandboxEnv("/tmp/empty-home");
    expect(Object.keys(env).sort()).toEqual(
      [
        "ALL_PROXY", "GIT_ALLOW_PROTOCOL", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "GIT_TERMINAL_PROMPT", "HOME", "HTTPS_PROXY", "HTTP_PROXY", "LANG",
        "NO_PROXY", "PATH", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "all_proxy", "http_proxy", "https_proxy", "no_proxy",
      ].sort(),
    );
    expect(env).toMatchObject({ HOME: "/tmp/empty-home", HTTPS_PROXY: "http://127.0.0.1:9", GIT_ALLOW_PROTOCOL: "", GIT_CONFIG_NOSYSTEM: "1" });
  });

  it("runs kustomize with that environment, without tokens or kubeconfig", async () => {
    process.env.GITHUB_TOKEN = "secret-token";
    try {
      const result = await runKustomize(shell('echo "$HOME|${GITHUB_TOKEN:-none}|${KUBECONFIG:-none}|$HTTPS_PROXY"'), at(tempDir()));
      expect(result.ok).toBe(true);
      expect(result.ok && result.output).toMatch(/^\/tmp\/fleet-warden-home-\w+\|none\|none\|http:\/\/127\.0\.0\.1:9\n$/);
    } finally {
      delete process.env.GITHUB_TOKEN;
    }
  });

  it("stops a build whose output exceeds the cap", async () => {
    const result = await runKustomize(shell("head -c 100000 /dev/zero"), at(tempDir()), { timeoutMs: 30_000, maxOutputBytes: 16 * 1024 });
    expect(result).toEqual({ ok: false, error: "kustomize output exceeded 16.0 KiB and was stopped", limit: true });
  });

  it("stops a build that does not finish in time", async () => {
    const result = await runKustomize(shell("sleep 30"), at(tempDir()), { timeoutMs: 200, maxOutputBytes: 1024 });
    expect(result).toEqual({ ok: false, error: "kustomize did not finish within 0.2 s and was stopped", limit: true });
  });

  it("stops a build, and what it started, when its signal aborts; an aborted signal starts nothing", async () => {
    const dir = tempDir();
    const stopped = new AbortController();
    const build = runKustomize(shell(`sleep 600 & echo $! > ${dir}/started; wait`), at(dir), { timeoutMs: 30_000, maxOutputBytes: 1024 }, stopped.signal);
    while (!existsSync(join(dir, "started")) || readFileSync(join(dir, "started"), "utf8") === "") await new Promise((resolve) => setImmediate(resolve));
    const grandchild = readFileSync(join(dir, "started"), "utf8").trim();
    stopped.abort();
    expect(await build).toEqual({ ok: false, error: "kustomize was stopped: the evaluation ended" });
    // The child's own child went with it (its process group): gone, or exited and waiting to be collected.
    const running = () => existsSync(`/proc/${grandchild}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${grandchild}/stat`, "utf8"));
    while (running()) await new Promise((resolve) => setImmediate(resolve));

    expect(await runKustomize(shell(`touch ${dir}/ran`), at(dir), undefined, stopped.signal)).toEqual({ ok: false, error: "kustomize was stopped: the evaluation ended" });
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });
});

describe("memory and processes", () => {
  it.runIf(canLimitMemory())("stops a run past its memory limit, as fleet-warden's limit", async () => {
    const folder = tempDir();
    writeFileSync(join(folder, "kustomization.yaml"), "resources: []\n");
    expect(await runKustomize(findKustomize()!, at(folder), { timeoutMs: 30_000, maxOutputBytes: 1024, memoryMb: 16 })).toEqual({
      ok: false,
      error: "kustomize needed more than 16 MiB of memory and was stopped",
      limit: true,
    });
    expect(await runKustomize(findKustomize()!, at(folder), { timeoutMs: 30_000, maxOutputBytes: 1024, memoryMb: 256 })).toEqual({ ok: true, output: "" });
  });

  it("runs at most as many at once as the machine has cores (two at least), however many are asked for", async () => {
    const log = join(tempDir(), "log");
    const logging = shell(`echo start >> ${log}; sleep 0.2; echo end >> ${log}`);
    await Promise.all(Array.from({ length: 6 }, () => runKustomize(logging, at(tempDir()))));
    const events = readFileSync(log, "utf8").trim().split("\n");
    let running = 0;
    const most = Math.max(...events.map((event) => (running += event === "start" ? 1 : -1)));
    expect([events.length, most]).toEqual([12, Math.max(2, availableParallelism())]);
  });
});

describe("the network", () => {
  // Every machine this suite runs on in CI allows unprivileged user namespaces; elsewhere the isolation is off, and says so.
  it.runIf(canUnshare())("is out of reach: a remote resource on the host's loopback, which no proxy setting covers, is never fetched", async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests++;
      response.end("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const folder = join(tempDir(), "build");
      mkdirSync(folder);
      writeFileSync(join(folder, "kustomization.yaml"), `resources:\n- http://127.0.0.1:${(server.address() as AddressInfo).port}/cm.yaml\n`);
      const result = await runKustomize(findKustomize()!, at(folder));
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toMatch(/network is unreachable/);
      expect(requests).toBe(0);
    } finally {
      server.close();
    }
  });

  it.runIf(findKustomize()?.description === "kubectl kustomize")("is not asked for by kubectl, which would ask the host's 127.0.0.1:8080 for an API server's version", async () => {
    const requests: string[] = [];
    const server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(8080, "127.0.0.1", resolve));
    try {
      const folder = tempDir();
      writeFileSync(join(folder, "kustomization.yaml"), "resources: []\n");
      const engine = findKustomize()!;
      // Run as it is, outside any network namespace: what the arguments alone do.
      const code = await new Promise((resolve) => spawn(engine.command, engine.args(folder), { cwd: folder, env: sandboxEnv(tempDir()), stdio: "ignore" }).on("close", resolve));
      expect([code, requests]).toEqual([0, []]);
    } finally {
      server.close();
    }
  });
});

describe("the wall", () => {
  // Every machine this suite runs on in CI allows unprivileged user namespaces and has a statically linked kustomize.
  it.runIf(canUnshare())("keeps kustomize from the host's files: a path out of the sandbox finds nothing, the sandbox's own files are read", async () => {
    const host = tempDir();
    writeFileSync(join(host, "private-key.pem"), "host secret\n");
    const build = (files: string[]) => {
      const sandbox = tempDir();
      writeFileSync(join(sandbox, "key.pem"), "sandbox file\n");
      mkdirSync(join(sandbox, "app"));
      writeFileSync(join(sandbox, "app", "kustomization.yaml"), `configMapGenerator:\n- name: read\n  files: ${JSON.stringify(files)}\n`);
      return runKustomize(findKustomize()!, { sandbox, folder: join(sandbox, "app") });
    };
    const inside = await build(["../key.pem"]);
    expect(inside.ok && inside.output).toContain("sandbox file");
    for (const outside of [join(host, "private-key.pem"), "/etc/hostname", "/proc/self/environ"]) {
      const result = await build([outside]);
      expect(result.ok ? result.output : result.error).toMatch(/no such file or directory/);
    }
  });

  it.runIf(canUnshare())("holds a statically linked kustomize, and not a binary that needs the host's libraries", () => {
    expect(kustomizeIsolation(findKustomize()!)).toEqual({ level: "wall" });
    expect(kustomizeIsolation(shell("true"))).toEqual({ level: "network", why: "test engine (sh) cannot run in a root of its own: unshare: failed to execute the binary: No such file or directory" });
  });

  // Code running in the wall, which kustomize never runs (plugins, Helm and functions are refused): a static stand-in.
  const prober = staticProber();
  /** The stand-in as the engine: `mode` for a build of a folder named after it, "probe" (exit 0) for the wall's probe. */
  const proberEngine = (mode: string, ...rest: string[]): KustomizeEngine => ({ description: "prober", command: prober!, args: (folder) => (folder.endsWith(`/${mode}`) ? [mode, ...rest] : ["probe"]) });

  it.runIf(canUnshare() && prober)("holds code too: no host file, no write, no mount, no chroot, no network, as a user without privileges", async () => {
    const hostFile = join(tempDir(), "private-key.pem");
    writeFileSync(hostFile, "host secret\n");
    const sandbox = tempDir();
    mkdirSync(join(sandbox, "reach"));
    const engine = proberEngine("reach", hostFile, sandbox);
    // Never run outside the wall.
    expect(kustomizeIsolation(engine)).toEqual({ level: "wall" });
    const result = await runKustomize(engine, { sandbox, folder: join(sandbox, "reach") });
    expect(result.ok && result.output.split("\n")).toEqual([
      "uid 65534",
      `read ${hostFile}: No such file or directory`,
      "read /proc/self/environ: No such file or directory",
      "inherited fd 200: Bad file descriptor",
      "write the sandbox: Read-only file system",
      "unmount the sandbox: Operation not permitted",
      "chroot: Operation not permitted",
      "connect 127.0.0.1: Network is unreachable",
      "",
    ]);
  });

  it.runIf(canUnshare() && prober)("leaves nothing running once a run is stopped, not even a process in a session of its own", async () => {
    const engine = proberEngine("outlive");
    expect(kustomizeIsolation(engine)).toEqual({ level: "wall" });
    const sandbox = tempDir();
    mkdirSync(join(sandbox, "outlive"));
    // Both processes sleep a minute: a run that waited for the one left behind would outlast the test.
    expect(await runKustomize(engine, { sandbox, folder: join(sandbox, "outlive") }, { timeoutMs: 300, maxOutputBytes: 1024 })).toEqual({
      ok: false,
      error: "kustomize did not finish within 0.3 s and was stopped",
      limit: true,
    });
  });

  it.runIf(canUnshare())("stands on a TMPDIR mounted nosuid, nodev and noexec (a tmpfs), whose flags a user namespace may not drop", () => {
    const tmpfs = tempDir();
    const mounted = 'mount -t tmpfs -o nosuid,nodev,noexec none "$1" && TMPDIR="$1" exec "$2" "$3" kustomize';
    const run = spawnSync("unshare", ["-Urm", "bash", "-c", mounted, "tmpfs", tmpfs, process.execPath, walledRun], { encoding: "utf8" });
    expect([run.status, run.stdout]).toEqual([0, `${JSON.stringify({ level: "wall" })}\n`]);
  });

  it.runIf(canUnshare())("stands on a relative TMPDIR: the wall mounts by absolute path", () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, "relative"));
    const run = spawnSync(process.execPath, [walledRun, "kustomize"], { cwd, env: { ...process.env, TMPDIR: "relative" }, encoding: "utf8" });
    expect([run.status, run.stdout]).toEqual([0, `${JSON.stringify({ level: "wall" })}\n`]);
  });

  it.runIf(canUnshare() && prober)("closes the files the App inherited: an open folder would lead out of any root", () => {
    const host = tempDir();
    const hostFile = join(host, "private-key.pem");
    writeFileSync(hostFile, "host secret\n");
    const run = spawnSync("bash", ["-c", 'exec 200<"$1"; shift; exec "$@"', "inherit", host, process.execPath, walledRun, prober!, "reach", hostFile], { encoding: "utf8" });
    const [isolation, , result] = run.stdout.split("\n");
    expect(isolation).toBe(JSON.stringify({ level: "wall" }));
    expect(JSON.parse(result!).output).toMatch(/^uid 65534\n.*\ninherited fd 200: Bad file descriptor\n/s);
  });

  it.runIf(canUnshare() && prober)("ends with the App, should the App die mid-run", async () => {
    // Its own TMPDIR: the wall's root, left behind by a killed App, goes with the test's folders.
    const app = spawn(process.execPath, [walledRun, prober!, "outlive"], { stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, TMPDIR: tempDir() } });
    let output = "";
    app.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const walled = () => / (\/\S+)\n/.exec(output)?.[1];
    // Started: the sandbox is named, and the stand-in runs (PID 1 of its namespace, and the process it left).
    const running = (sandbox: string) => readdirSync("/proc").filter((pid) => /^\d+$/.test(pid) && alive(pid) && commandLine(pid).includes(`${sandbox}.kustomize`));
    while (!walled() || running(walled()!).length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(output.split("\n")[0]).toBe(JSON.stringify({ level: "wall" }));
    app.kill("SIGKILL");
    // Both sleep a minute: were they left running, the test would outlast its timeout.
    while (running(walled()!).length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  });

  it.runIf(canUnshare() && prober)("is probed again once the binary at its path changed: an upgrade may bring one the wall cannot hold", () => {
    const binary = join(tempDir(), "kustomize");
    copyFileSync(prober!, binary);
    const engine: KustomizeEngine = { description: "kustomize", command: binary, args: () => ["probe"] };
    expect(kustomizeIsolation(engine)).toEqual({ level: "wall" });
    writeFileSync(binary, "#!/bin/sh\nexit 0\n");
    expect(kustomizeIsolation(engine)).toEqual({ level: "network", why: "kustomize (kustomize) cannot run in a root of its own: unshare: failed to execute the binary: No such file or directory" });
  });

  it.runIf(canUnshare() && prober)("does not stand on a mount that ignores `ro` on a bind (busybox's): the sandbox would be writable", () => {
    // util-linux's mount without the options, first on the PATH.
    const realMount = spawnSync("sh", ["-c", "command -v mount"], { encoding: "utf8" }).stdout.trim();
    const tools = tempDir();
    writeFileSync(join(tools, "mount"), `#!/bin/sh\nexec ${realMount} --bind "$4" "$5"\n`, { mode: 0o755 });
    const binary = join(tempDir(), "kustomize");
    copyFileSync(prober!, binary);
    const path = process.env.PATH;
    process.env.PATH = `${tools}:${path}`;
    try {
      expect(kustomizeIsolation({ description: "kustomize", command: binary, args: () => ["probe"] })).toEqual({
        level: "network",
        why: expect.stringMatching(/^kustomize \(kustomize\) cannot run in a root of its own: mount left the root\S* writable$/),
      });
    } finally {
      process.env.PATH = path;
    }
  });

  it("is as strong as the machine allows; where it cannot be complete, builds run only when it is not required", () => {
    const works = () => undefined;
    const unshares = () => undefined;
    const noUserNamespaces = () => "`unshare -Un` fails: unprivileged user namespaces are off";
    const fails = () => "kustomize (kustomize) cannot run in a root of its own: unshare: failed to execute the binary: No such file or directory";
    expect(isolationOf("auto", unshares, works)).toEqual({ level: "wall" });
    expect(isolationOf("required", unshares, works)).toEqual({ level: "wall" });
    expect(isolationOf("network", unshares, works)).toEqual({ level: "wall" });
    expect(isolationOf("auto", unshares, fails)).toEqual({ level: "network", why: fails() });
    expect(isolationOf("network", unshares, fails)).toEqual({ level: "network", why: fails() });
    expect(isolationOf("auto", noUserNamespaces, works)).toEqual({ level: "none", why: noUserNamespaces() });
    expect(isolationOf("auto", () => "`unshare` (util-linux) is not installed", works)).toEqual({ level: "none", why: "`unshare` (util-linux) is not installed" });
    expect(isolationOf("required", unshares, fails)).toEqual({ refused: `kustomize was not run: KUSTOMIZE_ISOLATION=required, and it cannot be walled off here (${fails()})` });
    expect(isolationOf("required", noUserNamespaces, works)).toEqual({ refused: expect.stringMatching(/^kustomize was not run: KUSTOMIZE_ISOLATION=required, .*`unshare -Un` fails/) });
    expect(isolationOf("network", noUserNamespaces, works)).toEqual({ refused: expect.stringMatching(/^kustomize was not run: KUSTOMIZE_ISOLATION=network \(or the former KUSTOMIZE_NETWORK_ISOLATION=required\), and `unshare -Un` fails/) });
    expect(isolationOf("off", unshares, works)).toEqual({ level: "none", why: "KUSTOMIZE_ISOLATION=off" });
  });

  it("is logged at the App's start when it is not complete and nobody asked for that, with the reason", () => {
    expect(isolationWarning({ level: "none", why: "`unshare -Un` fails" }, "auto")).toMatch(/^kustomize runs with this machine's network and files, so only vetting keeps builds from them \(`unshare -Un` fails\)\. The wall needs unprivileged user namespaces, util-linux/);
    expect(isolationWarning({ level: "network", why: "kustomize (/usr/bin/kustomize) cannot run in a root of its own: …" }, "auto")).toMatch(
      /^kustomize runs without a network but with this machine's files, so only vetting keeps builds from them \(kustomize \(\/usr\/bin\/kustomize\) cannot run in a root of its own: …\)\. The wall needs unprivileged user namespaces, util-linux/,
    );
    expect(isolationWarning({ refused: "kustomize was not run: …" }, "required")).toBe("every build will fail: kustomize was not run: …");
    expect(isolationWarning({ level: "wall" }, "auto")).toBeUndefined();
    expect(isolationWarning({ level: "none", why: "KUSTOMIZE_ISOLATION=off" }, "off")).toBeUndefined();
  });

  it("reads KUSTOMIZE_ISOLATION, then its former name as it was meant, and takes a value it does not know as `required`", () => {
    expect(isolationSetting({})).toBe("auto");
    expect(isolationSetting({ KUSTOMIZE_ISOLATION: " Off " })).toBe("off");
    expect(isolationSetting({ KUSTOMIZE_ISOLATION: "network" })).toBe("network");
    // The former name's `required` asked for no network, not for the whole wall.
    expect(isolationSetting({ KUSTOMIZE_NETWORK_ISOLATION: "required" })).toBe("network");
    expect(isolationSetting({ KUSTOMIZE_NETWORK_ISOLATION: "yes" })).toBe("network");
    expect(isolationSetting({ KUSTOMIZE_NETWORK_ISOLATION: "Auto" })).toBe("auto");
    expect(isolationSetting({ KUSTOMIZE_ISOLATION: "", KUSTOMIZE_NETWORK_ISOLATION: "off" })).toBe("off");
    expect(isolationSetting({ KUSTOMIZE_ISOLATION: "auto", KUSTOMIZE_NETWORK_ISOLATION: "off" })).toBe("auto");
    expect(isolationSetting({ KUSTOMIZE_ISOLATION: "of" })).toBe("required");
  });
});

const walledRun = fileURLToPath(new URL("../helpers/walled-run.mjs", import.meta.url));

function commandLine(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

/** Running, or at least not yet a zombie. */
function alive(pid: string): boolean {
  try {
    return !/^\S+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** test/build/wall-prober.c, compiled static; undefined where gcc cannot link it so. */
function staticProber(): string | undefined {
  const binary = join(tempDir(), "prober");
  const source = fileURLToPath(new URL("./wall-prober.c", import.meta.url));
  return spawnSync("gcc", ["-static", "-O1", "-o", binary, source], { stdio: "ignore" }).status === 0 ? binary : undefined;
}

describe("error messages", () => {
  it("unwraps kubectl's klog line", () => {
    expect(cleanError('E1122 05:28:11.364382    8900 run.go:72] "command failed" err="accumulating resources: accumulation err=\'x\': \\"quoted\\""')).toBe(
      "accumulating resources: accumulation err='x': \"quoted\"",
    );
    expect(cleanError('E1122 run.go:72] "command failed" err=<\n\ttrouble configuring builtin PatchTransformer\n\tpath: p.yaml\n >\n')).toBe("trouble configuring builtin PatchTransformer\npath: p.yaml");
  });

  it("keeps kustomize's own message", () => {
    expect(cleanError("Error: accumulating resources: no such file\n")).toBe("accumulating resources: no such file");
  });
});
