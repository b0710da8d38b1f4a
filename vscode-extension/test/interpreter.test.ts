import { mock, Uri } from './vscodeMock';

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';

import {
    checkLaunch,
    childEnv,
    cliCommand,
    installCommand,
    launchDirectory,
    parsePythonVersion,
    resolveServerLaunch,
    ResolveDeps,
    which,
} from '../src/interpreter';
import { pythonFromExtension } from '../src/pythonExtension';

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

    it('gives the active environment of the folder', async () => {
        let asked: unknown;
        mock.extensions['ms-python.python'] = {
            isActive: true,
            exports: {
                environment: {
                    getActiveEnvironmentPath: (resource: unknown) => ((asked = resource), { id: 'x', path: '/venv' }),
                    resolveEnvironment: async () => ({ executable: { uri: Uri.file('/venv/bin/python') } }),
                },
            },
        };
        const folder = Uri.file('/work/app');
        assert.equal(await pythonFromExtension(folder as never), '/venv/bin/python');
        assert.equal(asked, folder);
    });

    it('activates the extension when it is not active yet', async () => {
        mock.extensions['ms-python.python'] = {
            isActive: false,
            activate: async () => ({ settings: { getExecutionDetails: () => ({ execCommand: ['/py'] }) } }),
        };
        assert.equal(await pythonFromExtension(undefined), '/py');
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

    it('sets PYTHONSAFEPATH=1 for every child, keeping the rest of the environment', () => {
        assert.deepEqual(childEnv({ PATH: '/bin', PYTHONSAFEPATH: '' }), { PATH: '/bin', PYTHONSAFEPATH: '1' });
    });

    it('reads the version probe', () => {
        assert.deepEqual(parsePythonVersion('3.11\n'), [3, 11]);
        assert.equal(parsePythonVersion('Python 3.11'), undefined);
        assert.equal(parsePythonVersion(undefined), undefined);
    });
});
