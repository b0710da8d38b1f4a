/**
 * Which command starts msp-server, in this order:
 *   1. the setting `msp.server.command` (e.g. ["/path/python", "-m", "msp_server"]);
 *   2. the interpreter selected in the Python extension (ms-python.python), if installed;
 *   3. `python3`, then `python`, on PATH.
 * A platform-specific .vsix carries msp_server and its dependencies (bundled/libs, for the
 * Python versions in its manifest): 2 and 3 then run `<python> -P bundled/launch.py msp_server`,
 * taking the first interpreter whose version the bundle was built for (a quick probe each), so
 * nothing needs installing. The universal .vsix has no bundle: 2 and 3 run `-m msp_server`.
 * Also: checking that the command can start before handing it to the language client, and the
 * matching `msp` CLI command. No vscode import here: the vscode-facing parts are injected.
 *
 * Launch isolation: a cloned folder is data. `python -m` and `python -c` put their working
 * directory first on sys.path, so a folder's `pydantic.py` would run on folder open. Every
 * Python this extension starts therefore gets `-P` (3.11+: no unsafe sys.path entry),
 * PYTHONSAFEPATH=1, and a working directory outside every workspace folder.
 */

import { execFile } from 'node:child_process';
import { constants as fsConstants, promises as fs, readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';

export const SERVER_MODULE = 'msp_server';
export const PACKAGE_NAME = 'msp-server';
/** `-P` (safe path) and PYTHONSAFEPATH exist from Python 3.11, which MSP requires anyway. */
export const MIN_PYTHON: readonly [number, number] = [3, 11];
const SAFE_PATH = '-P';

/** The environment of every Python process the extension starts (belt and braces to `-P`). */
export function childEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { ...base, PYTHONSAFEPATH: '1' };
}

function isInside(child: string, parent: string): boolean {
    const rel = path.relative(parent, child);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The working directory for MSP's processes: the first candidate that is neither a workspace
 * folder nor inside one (a folder opened at the home directory rules the home directory out).
 */
export function launchDirectory(candidates: readonly (string | undefined)[], folders: readonly string[]): string | undefined {
    return candidates.find((dir): dir is string => !!dir && !folders.some((folder) => isInside(dir, folder)));
}

function realpathOrSelf(file: string): string {
    try {
        return realpathSync(file);
    } catch {
        return file;
    }
}

/**
 * Whether `file` is inside a workspace folder, also through symlinks: a folder opened by a
 * symlinked path, or an interpreter reported by its real path, is still the folder's.
 */
export function insideFolders(file: string, folders: readonly string[], realpath: (p: string) => string = realpathOrSelf): boolean {
    const roots = [...folders, ...folders.map(realpath)];
    return [file, realpath(file)].some((p) => roots.some((folder) => isInside(p, folder)));
}

export type LaunchSource = 'setting' | 'python-extension' | 'path';

export interface ServerLaunch {
    command: string;
    args: string[];
    source: LaunchSource;
    /** The Python interpreter, when the launch is `<python> -m msp_server`. */
    python?: string;
    /** Working directory of the server, the probes and the CLI: never inside a workspace folder. */
    cwd?: string;
    /** bundled/launch.py, when the server runs from the libraries bundled in the .vsix. */
    bundled?: string;
}

/** The libraries a platform-specific .vsix bundles (bundled/libs/manifest.json). */
export interface BundledLibs {
    /** bundled/launch.py: puts libs/cp3XX and libs/common first on sys.path, runs a module. */
    launcher: string;
    /** The Python versions the native wheels were installed for, e.g. ["3.11", "3.12"]. */
    pythons: string[];
    target?: string;
}

/** The bundle inside the extension at `extensionRoot`; undefined for the universal .vsix. */
export function findBundledLibs(extensionRoot: string): BundledLibs | undefined {
    const bundled = path.join(extensionRoot, 'bundled');
    try {
        const manifest = JSON.parse(readFileSync(path.join(bundled, 'libs', 'manifest.json'), 'utf8')) as unknown;
        const pythons = (manifest as { pythons?: unknown }).pythons;
        if (!Array.isArray(pythons) || !pythons.every((p) => typeof p === 'string')) {
            return undefined;
        }
        const target = (manifest as { target?: unknown }).target;
        return {
            launcher: path.join(bundled, 'launch.py'),
            pythons: pythons as string[],
            target: typeof target === 'string' ? target : undefined,
        };
    } catch {
        return undefined;
    }
}

export interface ResolveDeps {
    /** `msp.server.command`, as configured (may be empty or malformed). */
    setting: unknown;
    /** The Python extension's selected interpreter for the folder, if that extension exists. */
    pythonFromExtension: () => Promise<string | undefined>;
    /** Absolute path of an executable on PATH, or undefined. */
    which: (name: string) => Promise<string | undefined>;
    /** The libraries bundled in this .vsix, if any. */
    bundled?: BundledLibs;
    /** "3.12" for an interpreter (a quick probe); undefined when it does not run. */
    probeVersion?: (python: string) => Promise<[number, number] | undefined>;
}

/**
 * Why MSP cannot start. `noPython`: no interpreter the bundled server can run on was found
 * (the user installs or selects a Python; the message offers the walkthrough step).
 */
export interface Failure {
    ok: false;
    reason: string;
    install: string;
    noPython?: boolean;
}

export type Resolution = { ok: true; launch: ServerLaunch } | Failure;

function pythonLaunch(python: string, source: LaunchSource): ServerLaunch {
    return { command: python, args: [SAFE_PATH, '-m', SERVER_MODULE], source, python };
}

/** The exact command that installs the server for this interpreter. */
export function installCommand(python?: string): string {
    const py = python ?? 'python3';
    const quoted = /[\s"'$`\\]/.test(py) ? JSON.stringify(py) : py;
    return `${quoted} -m pip install ${PACKAGE_NAME}`;
}

/** "3.11–3.14" (or "3.12" alone) for messages. */
export function versionRange(pythons: readonly string[]): string {
    return pythons.length > 1 ? `${pythons[0]}–${pythons[pythons.length - 1]}` : (pythons[0] ?? 'none');
}

/**
 * The message when no interpreter can run the bundled server: which interpreters were found
 * (with their versions) and how to fix it.
 */
export function noUsablePythonReason(found: readonly { python: string; version?: string }[], pythons: readonly string[]): string {
    const wanted = `Python ${versionRange(pythons)}`;
    const fix = `Install ${wanted} (python.org, or your system's package manager), or select one with "Python: Select Interpreter", or set msp.server.command`;
    if (found.length === 0) {
        return `MSP needs ${wanted} and found none (no Python extension interpreter, no python3 or python on PATH). ${fix}`;
    }
    const seen = found.map((f) => (f.version ? `${f.python} is Python ${f.version}` : `${f.python} did not run`)).join('; ');
    return `MSP needs ${wanted}; ${seen}. ${fix}`;
}

/** The interpreters to try, in order, each once: the Python extension's, python3, python. */
async function candidates(deps: ResolveDeps): Promise<{ python: string; source: LaunchSource }[]> {
    const found: { python: string; source: LaunchSource }[] = [];
    let fromExtension: string | undefined;
    try {
        fromExtension = await deps.pythonFromExtension();
    } catch {
        fromExtension = undefined; // a broken Python extension must not stop MSP
    }
    if (fromExtension) {
        found.push({ python: fromExtension, source: 'python-extension' });
    }
    for (const name of ['python3', 'python']) {
        const python = await deps.which(name);
        if (python && !found.some((f) => f.python === python)) {
            found.push({ python, source: 'path' });
        }
    }
    return found;
}

/** The first candidate whose version the bundle was built for, run through bundled/launch.py. */
async function resolveBundled(deps: ResolveDeps, bundled: BundledLibs): Promise<Resolution> {
    const probe = deps.probeVersion ?? probePythonVersion;
    const tried: { python: string; version?: string }[] = [];
    for (const { python, source } of await candidates(deps)) {
        const version = (await probe(python))?.join('.');
        if (version && bundled.pythons.includes(version)) {
            const args = [SAFE_PATH, bundled.launcher, SERVER_MODULE];
            return { ok: true, launch: { command: python, args, source, python, bundled: bundled.launcher } };
        }
        tried.push({ python, version });
    }
    return { ok: false, reason: noUsablePythonReason(tried, bundled.pythons), install: '', noPython: true };
}

export async function resolveServerLaunch(deps: ResolveDeps): Promise<Resolution> {
    const setting = deps.setting;
    if (Array.isArray(setting) && setting.length > 0) {
        if (!setting.every((part) => typeof part === 'string' && part.length > 0)) {
            return {
                ok: false,
                reason: 'the setting msp.server.command must be a list of non-empty strings, e.g. ["/usr/bin/python3", "-m", "msp_server"]',
                install: installCommand(),
            };
        }
        const [command, ...args] = setting as string[];
        const isPythonModule = args[0] === '-m' && args[1] === SERVER_MODULE;
        return {
            ok: true,
            launch: {
                command,
                // `<python> -m msp_server` from the setting is isolated like the default launch.
                args: isPythonModule ? [SAFE_PATH, ...args] : args,
                source: 'setting',
                python: isPythonModule ? command : undefined,
            },
        };
    }
    if (deps.bundled) {
        return resolveBundled(deps, deps.bundled);
    }
    const [first] = await candidates(deps);
    if (first) {
        return { ok: true, launch: pythonLaunch(first.python, first.source) };
    }
    return {
        ok: false,
        reason: 'no Python interpreter was found (no msp.server.command setting, no Python extension interpreter, no python3 or python on PATH)',
        install: installCommand(),
    };
}

/** Like `which`: the first executable `name` on PATH (or `name` itself when it has a slash). */
export async function which(name: string, envPath = process.env.PATH ?? ''): Promise<string | undefined> {
    const isExecutable = async (file: string): Promise<boolean> => {
        try {
            const stat = await fs.stat(file);
            if (!stat.isFile()) {
                return false;
            }
            await fs.access(file, process.platform === 'win32' ? fsConstants.F_OK : fsConstants.X_OK);
            return true;
        } catch {
            return false;
        }
    };
    if (name.includes('/') || name.includes('\\')) {
        return (await isExecutable(name)) ? path.resolve(name) : undefined;
    }
    const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
    // Only absolute entries: an empty or relative one would resolve against the extension
    // host's working directory, never a place to take a Python from.
    for (const dir of envPath.split(path.delimiter).filter((d) => d && path.isAbsolute(d))) {
        for (const ext of exts) {
            const candidate = path.join(dir, name + ext);
            if (await isExecutable(candidate)) {
                return candidate;
            }
        }
    }
    return undefined;
}

export type Check = { ok: true } | Failure;

export type RunQuiet = (
    cmd: string,
    args: string[],
    cwd?: string,
) => Promise<{ code: number | null; stderr: string; stdout?: string }>;

/** Prints "3.12": run with `-I` (isolated, known to every Python 3) since `-P` may not exist yet. */
const VERSION_PROBE = ['-I', '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'];

/** The interpreter's "major.minor", or undefined when it does not run (a quick probe). */
export async function probePythonVersion(python: string, run: RunQuiet = runQuiet): Promise<[number, number] | undefined> {
    const probe = await run(python, VERSION_PROBE);
    return probe.code === 0 ? parsePythonVersion(probe.stdout) : undefined;
}

/** "3.10" -> [3, 10]; undefined when the probe printed something else. */
export function parsePythonVersion(text: string | undefined): [number, number] | undefined {
    const m = /^(\d+)\.(\d+)$/.exec((text ?? '').trim());
    return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Can this launch start? The executable must exist, and a `<python> -m msp_server` launch must
 * be Python 3.11+ (for `-P`) and able to import the package (`-P -c`, in the launch's working
 * directory, never the folder). A failure says why, in one sentence, with the install command.
 */
export async function checkLaunch(
    launch: ServerLaunch,
    run: RunQuiet = runQuiet,
    find: (name: string) => Promise<string | undefined> = which,
): Promise<Check> {
    const install = installCommand(launch.python);
    const exe = await find(launch.command);
    if (!exe) {
        return { ok: false, reason: `\`${launch.command}\` was not found`, install };
    }
    if (!launch.python) {
        return { ok: true };
    }
    const probe = await run(launch.python, VERSION_PROBE, launch.cwd);
    const version = probe.code === 0 ? parsePythonVersion(probe.stdout) : undefined;
    const [major, minor] = MIN_PYTHON;
    if (version && (version[0] < major || (version[0] === major && version[1] < minor))) {
        return {
            ok: false,
            reason: `MSP needs Python ${major}.${minor} or newer; ${launch.python} is Python ${version.join('.')}`,
            install: installCommand(),
        };
    }
    const importProbe = launch.bundled ? [SAFE_PATH, launch.bundled, '--check'] : [SAFE_PATH, '-c', `import ${SERVER_MODULE}`];
    const result = await run(launch.python, importProbe, launch.cwd);
    if (result.code === 0) {
        return { ok: true };
    }
    const lastLine = result.stderr.trim().split('\n').pop() ?? '';
    if (launch.bundled) {
        // The bundle is the extension's own: reinstalling the extension is the fix, not pip.
        return {
            ok: false,
            reason: `the MSP bundled with the extension does not run on ${launch.python}: ${lastLine || `exit code ${result.code}`}`,
            install: '',
        };
    }
    const missing = /No module named/.test(lastLine);
    return {
        ok: false,
        reason: missing
            ? `${SERVER_MODULE} is not installed for ${launch.python}`
            : `${launch.python} cannot import ${SERVER_MODULE}: ${lastLine || `exit code ${result.code}`}`,
        install,
    };
}

function runQuiet(cmd: string, args: string[], cwd?: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
    return new Promise((resolve) => {
        execFile(cmd, args, { cwd, env: childEnv(), timeout: 20_000, windowsHide: true }, (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
            resolve({
                code,
                stdout: String(stdout ?? ''),
                stderr: String(stderr ?? '') || (error ? String(error.message) : ''),
            });
        });
    });
}

/**
 * The `msp` CLI that belongs to this server launch: the bundled one
 * (`<python> -P bundled/launch.py msp_server.cli`), `<python> -P -m msp_server.cli`, the `msp`
 * beside an `msp-server` executable, or `msp` on PATH. Callers pass `--workspace` explicitly
 * and run it outside the folder (see launchDirectory).
 */
export function cliCommand(launch: ServerLaunch | undefined): { command: string; args: string[] } {
    if (launch?.python && launch.bundled) {
        return { command: launch.python, args: [SAFE_PATH, launch.bundled, `${SERVER_MODULE}.cli`] };
    }
    if (launch?.python) {
        return { command: launch.python, args: [SAFE_PATH, '-m', `${SERVER_MODULE}.cli`] };
    }
    if (launch && /^msp-server(\.exe)?$/i.test(path.basename(launch.command)) && path.isAbsolute(launch.command)) {
        const ext = path.extname(launch.command);
        return { command: path.join(path.dirname(launch.command), `msp${ext}`), args: [] };
    }
    return { command: 'msp', args: [] };
}
