import { EventEmitter, McpStdioServerDefinition, mock, Uri, vscode } from './vscodeMock';

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { ServerLaunch } from '../src/interpreter';
import { MCP_PROVIDER_ID, McpLaunchSource, mcpLaunches, McpProvider, registerMcpProvider } from '../src/mcp';

const PYTHON: ServerLaunch = {
    command: '/opt/msp/bin/python',
    args: ['-P', '-m', 'msp_server'],
    source: 'python-extension',
    python: '/opt/msp/bin/python',
    cwd: '/home/me/.storage/msp',
};
const CWD = '/home/me/.storage/msp';

class FakeSource implements McpLaunchSource {
    mcpLaunch: ServerLaunch | undefined = PYTHON;
    version: string | undefined = '0.9.0';
    private readonly emitter = new EventEmitter<void>();
    onDidChangeMcpLaunch = this.emitter.event as never;
    launchCwd(): string {
        return CWD;
    }
    ran(launch: ServerLaunch): void {
        this.mcpLaunch = launch;
        this.emitter.fire();
    }
}

function provided(provider: McpProvider): McpStdioServerDefinition[] {
    return provider.provideMcpServerDefinitions() as unknown as McpStdioServerDefinition[];
}

describe('mcpLaunches: what VS Code may start', () => {
    const folders = [
        { name: 'app', scheme: 'file', fsPath: '/w/app' },
        { name: 'remote', scheme: 'vscode-vfs', fsPath: '/github/x' },
        { name: 'lib', scheme: 'file', fsPath: '/w/my lib' },
    ];

    it('one `-P -m msp_server.cli mcp --workspace <folder>` per local folder, with the server’s python', () => {
        const offer = mcpLaunches({ launch: PYTHON, folders, trusted: true, cwd: CWD });
        const expected = (name: string, workspace: string) => ({
            label: `MSP (${name})`,
            command: '/opt/msp/bin/python',
            args: ['-P', '-m', 'msp_server.cli', 'mcp', '--workspace', workspace],
            cwd: CWD,
            env: { PYTHONSAFEPATH: '1' },
            workspace,
        });
        assert.deepEqual(offer.launches, [expected('app', '/w/app'), expected('lib', '/w/my lib')]);
    });

    it('an msp-server executable from the setting: the msp beside it', () => {
        const launch: ServerLaunch = { command: '/opt/msp/bin/msp-server', args: [], source: 'setting' };
        const [only] = mcpLaunches({ launch, folders: folders.slice(0, 1), trusted: true, cwd: CWD }).launches;
        assert.equal(only.command, '/opt/msp/bin/msp');
        assert.deepEqual(only.args, ['mcp', '--workspace', '/w/app']);
    });

    it('nothing in Restricted Mode, before msp-server ran, or without a local folder — and says why', () => {
        const restricted = mcpLaunches({ launch: PYTHON, folders, trusted: false, cwd: CWD });
        assert.deepEqual(restricted, { launches: [], why: 'Restricted Mode: trust the workspace to offer it' });
        const early = mcpLaunches({ launch: undefined, folders, trusted: true, cwd: CWD });
        assert.deepEqual(early, { launches: [], why: 'msp-server has not started yet' });
        const remote = mcpLaunches({ launch: PYTHON, folders: folders.slice(1, 2), trusted: true, cwd: CWD });
        assert.deepEqual(remote, { launches: [], why: 'no local workspace folder is open' });
    });
});

describe('McpProvider: the definitions VS Code gets', () => {
    let source: FakeSource;
    let provider: McpProvider;
    let changes: number;

    beforeEach(() => {
        mock.reset();
        mock.setFolders('/w/app');
        source = new FakeSource();
        provider = new McpProvider(source);
        changes = 0;
        provider.onDidChangeMcpServerDefinitions(() => changes++);
    });
    afterEach(() => provider.dispose());

    it('a McpStdioServerDefinition labelled "MSP (<folder>)", started outside the folder', () => {
        const [definition, ...rest] = provided(provider);
        assert.equal(rest.length, 0);
        assert.ok(definition instanceof McpStdioServerDefinition);
        assert.equal(definition.label, 'MSP (app)');
        assert.equal(definition.command, '/opt/msp/bin/python');
        assert.deepEqual(definition.args, ['-P', '-m', 'msp_server.cli', 'mcp', '--workspace', '/w/app']);
        assert.deepEqual(definition.env, { PYTHONSAFEPATH: '1' });
        assert.equal(definition.version, '0.9.0');
        assert.ok(definition.cwd instanceof Uri);
        assert.equal(definition.cwd.fsPath, CWD);
    });

    it('logs the command lines it offers, once per change', () => {
        provided(provider);
        provided(provider);
        const offers = mock.logLines.filter((l) => l.includes('MCP: offering'));
        assert.equal(offers.length, 1);
        const json = offers[0].slice(offers[0].indexOf('['));
        const [logged] = JSON.parse(json) as { command: string; args: string[]; cwd: string }[];
        assert.equal(logged.command, '/opt/msp/bin/python');
        assert.deepEqual(logged.args.slice(-2), ['--workspace', '/w/app']);
        assert.equal(logged.cwd, CWD);
    });

    it('offers nothing in Restricted Mode and refuses to start a listed server there', () => {
        mock.isTrusted = false;
        assert.deepEqual(provided(provider), []);
        assert.ok(mock.logLines.some((l) => l.includes('MCP: no server offered (Restricted Mode')));
        const listed = new McpStdioServerDefinition('MSP (app)', '/opt/msp/bin/python', []);
        assert.equal(provider.resolveMcpServerDefinition(listed as never), undefined);
    });

    it('refreshes when the workspace is trusted, and then offers the server', () => {
        mock.isTrusted = false;
        assert.deepEqual(provided(provider), []);
        mock.isTrusted = true;
        mock.trustEmitter.fire();
        assert.equal(changes, 1);
        const [definition] = provided(provider);
        assert.equal(definition.label, 'MSP (app)');
        assert.equal(provider.resolveMcpServerDefinition(definition as never), definition);
    });

    it('refreshes when folders change: one definition per folder', () => {
        mock.setFolders('/w/app', '/w/api');
        mock.foldersEmitter.fire({});
        assert.equal(changes, 1);
        assert.deepEqual(
            provided(provider).map((d) => d.label),
            ['MSP (app)', 'MSP (api)'],
        );
    });

    it('waits for msp-server to run, and follows the launch it runs with', () => {
        source.mcpLaunch = undefined;
        assert.deepEqual(provided(provider), []);
        source.ran(PYTHON);
        assert.equal(changes, 1);
        assert.equal(provided(provider)[0].command, '/opt/msp/bin/python');
        source.ran({ ...PYTHON, command: '/usr/bin/python3', python: '/usr/bin/python3' });
        assert.equal(changes, 2);
        assert.equal(provided(provider)[0].command, '/usr/bin/python3');
    });

    it('stops listening when disposed', () => {
        provider.dispose();
        mock.foldersEmitter.fire({});
        mock.trustEmitter.fire();
        assert.equal(changes, 0);
    });
});

describe('registration', () => {
    beforeEach(() => mock.reset());

    it('registers the id package.json contributes', () => {
        const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
            engines: { vscode: string };
            contributes: { mcpServerDefinitionProviders: { id: string; label: string }[] };
        };
        assert.deepEqual(pkg.contributes.mcpServerDefinitionProviders, [{ id: MCP_PROVIDER_ID, label: 'MSP' }]);
        // The stable MCP provider API arrived in VS Code 1.101.
        assert.match(pkg.engines.vscode, /^\^1\.(10[1-9]|1[1-9]\d)\./);
        const disposables = registerMcpProvider(new FakeSource());
        assert.deepEqual(
            mock.mcpProviders.map((p) => p.id),
            [MCP_PROVIDER_ID],
        );
        assert.ok(mock.mcpProviders[0].provider instanceof McpProvider);
        disposables.forEach((d) => d.dispose());
        assert.equal(mock.mcpProviders[0].disposed, true);
    });

    it('an editor without vscode.lm gets a log line, not an exception', () => {
        const lm = vscode.lm;
        try {
            (vscode as { lm?: unknown }).lm = undefined;
            assert.deepEqual(registerMcpProvider(new FakeSource()), []);
            assert.ok(mock.logLines.some((l) => l.includes('no MCP server API')));
        } finally {
            vscode.lm = lm;
        }
    });
});
