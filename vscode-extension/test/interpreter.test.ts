import { mock, Uri } from './vscodeMock';

import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';

import {
    BundledLibs,
    checkLaunch,
    childEnv,
    cliCommand,
    findBundledLibs,
    insideFolders,
    installCommand,
    launchDirectory,
    noUsablePythonReason,
    parsePythonVersion,
    probePythonVersion,
    resolveServerLaunch,
    ResolveDeps,
    which,
} from '../src/interpreter';
import { onDidChangePythonInterpreter, pythonFromExtension } from '../src/pythonExtension';
import { INSTALL_PYTHON, OPEN_WALKTHROUGH, pythonStep, showNoPython } from '../src/pythonSetup';

function deps(over: Partial<ResolveDeps> = {}): ResolveDeps {
    return {
        setting: [],
        pythonFromExtension: async () => undefined,
        which: async () => undefined,
        ...over,
    };
}

describe('finding the server: setting, then the Python extension, then PATH', () => {
    it('takes msp.server.command first; a `<python> -m msp_server` one gets -P (safe path)', async () => {
        const r = await resolveServerLaunch(
            deps({
                setting: ['/opt/venv/bin/python', '-m', 'msp_server'],
                pythonFromExtension: async () => '/ext/python',
                which: async (n) => `/usr/bin/${n}`,
            }),
        );
        assert.deepEqual(r, {
            ok: true,
            launch: { command: '/opt/venv/bin/python', args: ['-P', '-m', 'msp_server'], source: 'setting', python: '/opt/venv/bin/python' },
        });
    });

    it('accepts any command in the setting (msp-server script), without a python', async () => {
        const r = await resolveServerLaunch(deps({ setting: ['msp-server'] }));
        assert.ok(r.ok);
        assert.deepEqual(r.launch, { command: 'msp-server', args: [], source: 'setting', python: undefined });
    });

    it('refuses a malformed setting with an example', async () => {
        const r = await resolveServerLaunch(deps({ setting: ['python', 3] }));
        assert.equal(r.ok, false);
        assert.match(!r.ok ? r.reason : '', /list of non-empty strings/);
    });

    it('uses the Python extension interpreter when the setting is empty', async () => {
        const r = await resolveServerLaunch(
            deps({ pythonFromExtension: async () => '/ext/python', which: async (n) => `/usr/bin/${n}` }),
        );
        assert.ok(r.ok);
        assert.deepEqual(r.launch, { command: '/ext/python', args: ['-P', '-m', 'msp_server'], source: 'python-extension', python: '/ext/python' });
    });

    it('falls back to python3, then python, on PATH', async () => {
        const both = await resolveServerLaunch(deps({ which: async (n) => `/usr/bin/${n}` }));
        assert.ok(both.ok && both.launch.command === '/usr/bin/python3' && both.launch.source === 'path');
        const onlyPython = await resolveServerLaunch(deps({ which: async (n) => (n === 'python' ? '/bin/python' : undefined) }));
        assert.ok(onlyPython.ok && onlyPython.launch.command === '/bin/python');
    });

    it('survives a broken Python extension', async () => {
        const r = await resolveServerLaunch(
            deps({
                pythonFromExtension: async () => {
                    throw new Error('boom');
                },
                which: async (n) => (n === 'python3' ? '/usr/bin/python3' : undefined),
            }),
        );
        assert.ok(r.ok && r.launch.source === 'path');
    });

    it('says what is missing and how to install when nothing is found', async () => {
        const r = await resolveServerLaunch(deps());
        assert.equal(r.ok, false);
        assert.ok(!r.ok);
        assert.match(r.reason, /no Python interpreter was found/);
        assert.equal(r.install, 'python3 -m pip install msp-server');
    });
});

describe('the Python extension API', () => {
    beforeEach(() => mock.reset());

    it('is not needed: no extension, no interpreter', async () => {
        assert.equal(await pythonFromExtension(undefined), undefined);
    });

    const environments = (onAsk: (resource: unknown) => void = () => undefined) => ({
        environments: {
            getActiveEnvironmentPath: (resource: unknown) => (onAsk(resource), { id: 'x', path: '/venv' }),
            resolveEnvironment: async (env: { path: string }) => ({ executable: { uri: Uri.file(`${env.path}/bin/python`) } }),
        },
    });

    it('gives the active environment of the folder (@vscode/python-extension)', async () => {
        let asked: unknown;
        mock.extensions['ms-python.python'] = { isActive: true, exports: environments((r) => (asked = r)) };
        const folder = Uri.file('/work/app');
        assert.equal(await pythonFromExtension(folder as never), '/venv/bin/python');
        assert.equal(asked, folder);
    });

    it('activates the extension when it is not active yet', async () => {
        let activated = false;
        const exports = environments();
        mock.extensions['ms-python.python'] = {
            isActive: false,
            get exports() {
                return activated ? exports : undefined;
            },
            activate: async () => ((activated = true), exports),
        };
        assert.equal(await pythonFromExtension(undefined), '/venv/bin/python');
        assert.ok(activated);
    });

    it('reports a newly selected interpreter (so a failed start can start again)', async () => {
        assert.equal(await onDidChangePythonInterpreter(() => undefined), undefined, 'no Python extension, nothing to follow');
        const listeners: (() => void)[] = [];
        mock.extensions['ms-python.python'] = {
            isActive: true,
            exports: {
                environments: {
                    onDidChangeActiveEnvironmentPath: (l: () => void) => (listeners.push(l), { dispose: () => listeners.splice(0) }),
                },
            },
        };
        let changed = 0;
        const watch = await onDidChangePythonInterpreter(() => changed++);
        listeners.forEach((l) => l());
        assert.equal(changed, 1);
        watch?.dispose();
        assert.equal(listeners.length, 0);
    });

    it('gives nothing when no environment is selected', async () => {
        mock.extensions['ms-python.python'] = {
            isActive: true,
            exports: { environments: { getActiveEnvironmentPath: () => ({ id: 'x', path: '/gone' }), resolveEnvironment: async () => undefined } },
        };
        assert.equal(await pythonFromExtension(undefined), undefined);
    });
});

describe('checking the launch before starting', () => {
    it('reports a missing executable with the install command', async () => {
        const check = await checkLaunch(
            { command: '/nope/python', args: ['-m', 'msp_server'], source: 'setting', python: '/nope/python' },
            async () => ({ code: 0, stderr: '' }),
            async () => undefined,
        );
        assert.deepEqual(check, { ok: false, reason: '`/nope/python` was not found', install: '/nope/python -m pip install msp-server' });
    });

    it('reports a Python without msp_server', async () => {
        const check = await checkLaunch(
            { command: '/usr/bin/python3', args: ['-m', 'msp_server'], source: 'path', python: '/usr/bin/python3' },
            async () => ({ code: 1, stderr: "Traceback...\nModuleNotFoundError: No module named 'msp_server'\n" }),
            async (n) => n,
        );
        assert.deepEqual(check, {
            ok: false,
            reason: 'msp_server is not installed for /usr/bin/python3',
            install: '/usr/bin/python3 -m pip install msp-server',
        });
    });

    it('passes a Python 3.11+ that imports msp_server with -P, in the server’s working directory', async () => {
        const ran: (string | undefined)[][] = [];
        const check = await checkLaunch(
            { command: '/py', args: ['-P', '-m', 'msp_server'], source: 'path', python: '/py', cwd: '/srv/msp-storage' },
            async (cmd, args, cwd) => (ran.push([cmd, ...args, cwd]), { code: 0, stderr: '', stdout: '3.12\n' }),
            async (n) => n,
        );
        assert.deepEqual(check, { ok: true });
        assert.deepEqual(ran, [
            ['/py', '-I', '-c', 'import sys; print("%d.%d" % sys.version_info[:2])', '/srv/msp-storage'],
            ['/py', '-P', '-c', 'import msp_server', '/srv/msp-storage'],
        ]);
    });

    it('says MSP needs Python 3.11+ for an older interpreter (it has no -P), without importing', async () => {
        const ran: string[][] = [];
        const check = await checkLaunch(
            { command: '/py310', args: ['-P', '-m', 'msp_server'], source: 'path', python: '/py310', cwd: '/srv' },
            async (_cmd, args) => (ran.push(args), { code: 0, stderr: '', stdout: '3.10\n' }),
            async (n) => n,
        );
        assert.deepEqual(check, {
            ok: false,
            reason: 'MSP needs Python 3.11 or newer; /py310 is Python 3.10',
            install: 'python3 -m pip install msp-server',
        });
        assert.equal(ran.length, 1, 'only the version probe ran');
    });

    it('a real probe: the version of this machine’s python3, run isolated', async () => {
        const python = await which('python3');
        if (!python) {
            return;
        }
        const check = await checkLaunch({ command: python, args: ['-P', '-m', 'json.tool'], source: 'path', python, cwd: tmpdir() });
        // json.tool is no msp_server: either "not installed" or "needs 3.11" proves both probes ran.
        assert.equal(check.ok, false);
        assert.match(!check.ok ? check.reason : '', /msp_server is not installed|cannot import|needs Python 3\.11/);
    });

    it('quotes an interpreter path with spaces in the install command', () => {
        assert.equal(installCommand('/Users/a b/py'), '"/Users/a b/py" -m pip install msp-server');
    });
});

describe('which', () => {
    it('finds executables on PATH, not plain files', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'msp-which-'));
        writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
        chmodSync(join(dir, 'tool'), 0o755);
        writeFileSync(join(dir, 'plain'), '');
        assert.equal(await which('tool', dir), join(dir, 'tool'));
        assert.equal(await which('plain', dir), undefined);
        assert.equal(await which(join(dir, 'tool'), ''), join(dir, 'tool'));
    });
});

describe('the msp CLI of a server launch (for Set Credential)', () => {
    it('is `<python> -P -m msp_server.cli`, the msp beside msp-server, or msp on PATH', () => {
        assert.deepEqual(cliCommand({ command: '/v/bin/python', args: ['-P', '-m', 'msp_server'], source: 'setting', python: '/v/bin/python' }), {
            command: '/v/bin/python',
            args: ['-P', '-m', 'msp_server.cli'],
        });
        assert.deepEqual(cliCommand({ command: '/v/bin/msp-server', args: [], source: 'setting' }), { command: '/v/bin/msp', args: [] });
        assert.deepEqual(cliCommand(undefined), { command: 'msp', args: [] });
    });
});

describe('launch isolation: where and how MSP’s Python processes run', () => {
    it('runs outside every workspace folder: storage, else the temp dir, else home', () => {
        const candidates = ['/home/u/.config/Code/User/globalStorage/msp.msp-vscode', '/tmp', '/home/u'];
        assert.equal(launchDirectory(candidates, ['/home/u/src/app']), candidates[0]);
        // The home directory opened as a folder rules out everything inside it.
        assert.equal(launchDirectory(candidates, ['/home/u']), '/tmp');
        assert.equal(launchDirectory([undefined, '/tmp', '/home/u'], ['/tmp', '/srv']), '/home/u');
        assert.equal(launchDirectory(['/a', '/b'], ['/']), undefined);
        assert.equal(launchDirectory(['/work/app-data'], ['/work/app']), '/work/app-data', 'a sibling with a common prefix is outside');
    });

    it('knows an interpreter inside a folder, also through a symlinked folder path (Restricted Mode skips it)', () => {
        const root = realpathSync(mkdtempSync(join(tmpdir(), 'msp-inside-')));
        const repo = join(root, 'repo');
        mkdirSync(join(repo, '.venv', 'bin'), { recursive: true });
        writeFileSync(join(repo, '.venv', 'bin', 'python'), '');
        const opened = join(root, 'opened-as');
        symlinkSync(repo, opened);
        const real = join(repo, '.venv', 'bin', 'python');
        assert.ok(insideFolders(real, [repo]));
        // The folder was opened by its symlink; the interpreter is reported by its real path.
        assert.ok(insideFolders(real, [opened]));
        assert.ok(insideFolders(join(opened, '.venv', 'bin', 'python'), [repo]));
        assert.ok(!insideFolders('/usr/bin/python3', [opened]));
        assert.ok(!insideFolders(join(root, 'repo-data', 'python'), [repo]), 'a sibling with a common prefix is outside');
    });

    it('sets PYTHONSAFEPATH=1 for every child, keeping the rest of the environment', () => {
        assert.deepEqual(childEnv({ PATH: '/bin', PYTHONSAFEPATH: '' }), { PATH: '/bin', PYTHONSAFEPATH: '1' });
    });

    it('reads the version probe', () => {
        assert.deepEqual(parsePythonVersion('3.11\n'), [3, 11]);
        assert.equal(parsePythonVersion('Python 3.11'), undefined);
        assert.equal(parsePythonVersion(undefined), undefined);
    });
});

describe('the bundled server (platform-specific .vsix): any Python 3.11+, nothing installed', () => {
    const bundled: BundledLibs = { launcher: '/ext/bundled/launch.py', pythons: ['3.11', '3.12', '3.13', '3.14'] };
    const versions: Record<string, [number, number] | undefined> = {
        '/ext/python': [3, 12],
        '/usr/bin/python3': [3, 13],
        '/usr/bin/python': [3, 13],
        '/old/python': [3, 10],
        '/new/python': [3, 15],
    };
    const bundledDeps = (over: Partial<ResolveDeps> = {}): ResolveDeps =>
        deps({ bundled, probeVersion: async (python) => versions[python], ...over });

    it('still takes msp.server.command first, as it is', async () => {
        const r = await resolveServerLaunch(bundledDeps({ setting: ['msp-server'], which: async (n) => `/usr/bin/${n}` }));
        assert.ok(r.ok);
        assert.deepEqual(r.launch, { command: 'msp-server', args: [], source: 'setting', python: undefined });
    });

    it('runs the Python extension interpreter through bundled/launch.py, with -P', async () => {
        const r = await resolveServerLaunch(
            bundledDeps({ pythonFromExtension: async () => '/ext/python', which: async (n) => `/usr/bin/${n}` }),
        );
        assert.ok(r.ok);
        assert.deepEqual(r.launch, {
            command: '/ext/python',
            args: ['-P', '/ext/bundled/launch.py', 'msp_server'],
            source: 'python-extension',
            python: '/ext/python',
            bundled: '/ext/bundled/launch.py',
        });
    });

    it('skips an interpreter the bundle was not built for and takes python3 on PATH', async () => {
        const r = await resolveServerLaunch(
            bundledDeps({ pythonFromExtension: async () => '/old/python', which: async (n) => `/usr/bin/${n}` }),
        );
        assert.ok(r.ok);
        assert.equal(r.launch.command, '/usr/bin/python3');
        assert.equal(r.launch.source, 'path');
    });

    it('names every interpreter found, its version, and the fix when none fits', async () => {
        const r = await resolveServerLaunch(
            bundledDeps({
                pythonFromExtension: async () => '/old/python',
                which: async (n) => (n === 'python3' ? '/new/python' : n === 'python' ? '/broken/python' : undefined),
            }),
        );
        assert.equal(r.ok, false);
        assert.ok(!r.ok);
        assert.equal(r.noPython, true);
        assert.equal(r.install, '', 'nothing to pip install: the server is in the extension');
        assert.equal(
            r.reason,
            'MSP needs Python 3.11–3.14; /old/python is Python 3.10; /new/python is Python 3.15; /broken/python did not run. ' +
                'Install Python 3.11–3.14 (python.org, or your system\'s package manager), or select one with "Python: Select Interpreter", or set msp.server.command',
        );
    });

    it('says no Python was found at all, and what to install', async () => {
        const r = await resolveServerLaunch(bundledDeps());
        assert.ok(!r.ok && r.noPython);
        assert.match(r.reason, /^MSP needs Python 3\.11–3\.14 and found none \(no Python extension interpreter, no python3 or python on PATH\)\. Install Python 3\.11–3\.14/);
        assert.equal(noUsablePythonReason([], ['3.12']).startsWith('MSP needs Python 3.12 and'), true);
    });

    it('probes each interpreter once (python3 and python may be the same file)', async () => {
        const probed: string[] = [];
        await resolveServerLaunch(
            bundledDeps({ which: async () => '/old/python', probeVersion: async (p) => (probed.push(p), versions[p]) }),
        );
        assert.deepEqual(probed, ['/old/python']);
    });

    it('checks the bundle with `launch.py --check`; its CLI is `launch.py msp_server.cli`', async () => {
        const launch = { command: '/py', args: ['-P', '/b/launch.py', 'msp_server'], source: 'path' as const, python: '/py', bundled: '/b/launch.py', cwd: '/s' };
        const ran: string[][] = [];
        const check = await checkLaunch(launch, async (_c, args) => (ran.push(args), { code: 0, stderr: '', stdout: '3.12\n' }), async (n) => n);
        assert.deepEqual(check, { ok: true });
        assert.deepEqual(ran[1], ['-P', '/b/launch.py', '--check']);
        assert.deepEqual(cliCommand(launch), { command: '/py', args: ['-P', '/b/launch.py', 'msp_server.cli'] });
        const broken = await checkLaunch(launch, async (_c, args) => (args[0] === '-I' ? { code: 0, stderr: '', stdout: '3.12' } : { code: 1, stderr: 'ImportError: bad\n' }), async (n) => n);
        assert.deepEqual(broken, { ok: false, reason: 'the MSP bundled with the extension does not run on /py: ImportError: bad', install: '' });
    });

    it('a real bundle: launch.py puts libs/cp3XX and libs/common first, and refuses other versions', async () => {
        const python = await which('python3');
        const version = python ? await probePythonVersion(python) : undefined;
        if (!python || !version) {
            return;
        }
        const root = mkdtempSync(join(tmpdir(), 'msp-bundle-'));
        const tag = `cp${version[0]}${version[1]}`;
        for (const dir of [`bundled/libs/${tag}/msp_server`, 'bundled/libs/common/pydantic_core']) {
            mkdirSync(join(root, dir), { recursive: true });
        }
        copyFileSync(join(__dirname, '..', '..', 'bundled', 'launch.py'), join(root, 'bundled', 'launch.py'));
        writeFileSync(join(root, 'bundled', 'libs', tag, 'msp_server', '__init__.py'), '');
        writeFileSync(join(root, 'bundled', 'libs', 'common', 'pydantic_core', '__init__.py'), '__version__ = "fake"\n');
        writeFileSync(join(root, 'bundled', 'libs', 'manifest.json'), JSON.stringify({ target: 'linux-x64', pythons: [version.join('.')] }));
        const found = findBundledLibs(root);
        assert.deepEqual(found, { launcher: join(root, 'bundled', 'launch.py'), pythons: [version.join('.')], target: 'linux-x64' });
        assert.equal(findBundledLibs(join(root, 'nothing')), undefined, 'the universal .vsix has no bundle');

        const r = await resolveServerLaunch(deps({ bundled: found, which: async (n) => (n === 'python3' ? python : undefined) }));
        assert.ok(r.ok);
        assert.deepEqual(await checkLaunch({ ...r.launch, cwd: tmpdir() }), { ok: true });

        // Built for another version only: the launcher itself says so, in one line.
        writeFileSync(join(root, 'bundled', 'libs', 'manifest.json'), JSON.stringify({ pythons: ['3.99'] }));
        const other = await checkLaunch({ ...r.launch, args: r.launch.args, bundled: join(root, 'bundled', 'launch.py') }, undefined, async (n) => n);
        assert.equal(other.ok, true, 'the cp tree for this version is still there');
        const none = await resolveServerLaunch(deps({ bundled: findBundledLibs(root), which: async (n) => (n === 'python3' ? python : undefined) }));
        assert.ok(!none.ok && none.noPython);
        assert.match(none.reason, new RegExp(`${python.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is Python ${version.join('\\.')}`));
    });
});

describe('the walkthrough step "Python for MSP"', () => {
    it('is found in the manifest by its markdown file', () => {
        const manifest = {
            contributes: {
                walkthroughs: [
                    { id: 'other', steps: [{ id: 'a', media: { markdown: 'media/walkthrough/a.md' } }] },
                    { id: 'gettingStarted', steps: [{ id: 's1' }, { id: 'python', media: { markdown: 'media/walkthrough/python.md' } }] },
                ],
            },
        };
        assert.deepEqual(pythonStep('msp.msp-vscode', manifest), {
            category: 'msp.msp-vscode#gettingStarted',
            step: 'msp.msp-vscode#gettingStarted#python',
        });
        assert.equal(pythonStep('msp.msp-vscode', { contributes: {} }), undefined);
    });
});

describe('first run with no usable Python: one notification, no stack trace', () => {
    beforeEach(() => mock.reset());
    const reason = noUsablePythonReason([{ python: '/usr/bin/python3', version: '3.10' }], ['3.11', '3.12', '3.13', '3.14']);
    const manifest = {
        contributes: { walkthroughs: [{ id: 'gettingStarted', steps: [{ id: 'python', media: { markdown: 'media/walkthrough/python.md' } }] }] },
    };

    it('names the version found and offers the walkthrough step and python.org', async () => {
        mock.buttons = [OPEN_WALKTHROUGH];
        mock.extensions['msp-server.msp-vscode'] = { id: 'msp-server.msp-vscode', packageJSON: manifest, extensionUri: Uri.file('/ext') };
        await showNoPython(reason, 'msp-server.msp-vscode', () => undefined);
        assert.equal(mock.shown.length, 1);
        assert.equal(mock.shown[0].kind, 'error');
        assert.match(mock.shown[0].message, /^MSP needs Python 3\.11–3\.14; \/usr\/bin\/python3 is Python 3\.10\. Install Python/);
        assert.deepEqual(mock.shown[0].actions, [OPEN_WALKTHROUGH, INSTALL_PYTHON, 'Show log']);
        assert.deepEqual(mock.executed.at(-1), {
            command: 'workbench.action.openWalkthrough',
            args: [{ category: 'msp-server.msp-vscode#gettingStarted', step: 'msp-server.msp-vscode#gettingStarted#python' }, false],
        });
    });

    it('Show log shows the log', async () => {
        mock.buttons = ['Show log'];
        let shown = false;
        await showNoPython(reason, 'msp-server.msp-vscode', () => (shown = true));
        assert.ok(shown);
    });
});

describe('which() on PATH', () => {
    it('finds an executable in an absolute directory, never through a relative or empty entry', async () => {
        const root = mkdtempSync(join(tmpdir(), 'msp-which-'));
        mkdirSync(join(root, 'bin'));
        const python = join(root, 'bin', 'python3');
        writeFileSync(python, '#!/bin/sh\n');
        chmodSync(python, 0o755);
        const before = process.cwd();
        process.chdir(root); // a folder that ships its own bin/python3
        try {
            assert.equal(await which('python3', 'bin'), undefined);
            assert.equal(await which('python3', ['', 'bin'].join(':')), undefined);
            assert.equal(await which('python3', join(root, 'bin')), python);
        } finally {
            process.chdir(before);
        }
    });
});
