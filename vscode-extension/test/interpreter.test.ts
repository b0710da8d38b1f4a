import { mock, Uri } from './vscodeMock';

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';

import { checkLaunch, cliCommand, installCommand, resolveServerLaunch, ResolveDeps, which } from '../src/interpreter';
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
    it('takes msp.server.command first, as given', async () => {
        const r = await resolveServerLaunch(
            deps({
                setting: ['/opt/venv/bin/python', '-m', 'msp_server'],
                pythonFromExtension: async () => '/ext/python',
                which: async (n) => `/usr/bin/${n}`,
            }),
        );
        assert.deepEqual(r, {
            ok: true,
            launch: { command: '/opt/venv/bin/python', args: ['-m', 'msp_server'], source: 'setting', python: '/opt/venv/bin/python' },
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
        assert.deepEqual(r.launch, { command: '/ext/python', args: ['-m', 'msp_server'], source: 'python-extension', python: '/ext/python' });
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

    it('passes a Python that imports msp_server, checked in the server’s working directory', async () => {
        const ran: (string | undefined)[][] = [];
        const check = await checkLaunch(
            { command: '/py', args: ['-m', 'msp_server'], source: 'path', python: '/py', cwd: '/work/app' },
            async (cmd, args, cwd) => (ran.push([cmd, ...args, cwd]), { code: 0, stderr: '' }),
            async (n) => n,
        );
        assert.deepEqual(check, { ok: true });
        assert.deepEqual(ran, [['/py', '-c', 'import msp_server', '/work/app']]);
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
    it('is `<python> -m msp_server.cli`, the msp beside msp-server, or msp on PATH', () => {
        assert.deepEqual(cliCommand({ command: '/v/bin/python', args: ['-m', 'msp_server'], source: 'setting', python: '/v/bin/python' }), {
            command: '/v/bin/python',
            args: ['-m', 'msp_server.cli'],
        });
        assert.deepEqual(cliCommand({ command: '/v/bin/msp-server', args: [], source: 'setting' }), { command: '/v/bin/msp', args: [] });
        assert.deepEqual(cliCommand(undefined), { command: 'msp', args: [] });
    });
});
