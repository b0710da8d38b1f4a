/**
 * The wire contract, from the extension's side: msp_server/wire.json (the single source of truth)
 * must match src/wire.ts, package.json's contributions, and what the real server advertises and
 * sends. The last part starts `python -m msp_server` over stdio ($MSP_PYTHON, else
 * ../.venv/bin/python) and talks to it with the same argument builder the commands use.
 */

import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
    createMessageConnection,
    MessageConnection,
    ResponseError,
    StreamMessageReader,
    StreamMessageWriter,
} from 'vscode-jsonrpc/node';

import { buildArgs } from '../src/args';
import { CATEGORY, COMMANDS, HIDDEN_FROM_PALETTE, PALETTE_WHEN } from '../src/commandIds';
import { childEnv } from '../src/interpreter';
import { settingsForServer } from '../src/settings';
import * as wire from '../src/wire';

const ROOT = path.resolve(__dirname, '..', '..');
const WIRE_JSON = path.resolve(ROOT, '..', 'msp_server', 'wire.json');
const spec = JSON.parse(readFileSync(WIRE_JSON, 'utf8')) as {
    commandPrefix: string;
    commands: Record<string, unknown>;
    plannedCommands: string[];
    notifications: Record<string, string>;
    plannedNotifications: Record<string, string>;
    sessionChanged: { keys: string[]; sessionKeys: string[]; countsKeys: string[]; states: string[] };
    entitiesCaptured: { keys: string[]; entityKeys: string[] };
    payloadsGenerated: { keys: string[]; payloadKeys: string[]; failureKeys: string[] };
    clientCommands: Record<string, { id: string; args: string[] }>;
    syncStatus: { keys: string[]; needsActionKeys: string[]; needsActionItemKeys: string[]; actions: Record<string, string> };
    trustChanged: { params: Record<string, string> };
    captureProblems: { keys: string[]; problemKeys: string[] };
    results: Record<string, string[]>;
    errorData: { key: string; codes: Record<string, number> };
    settings: { section: string; captureKeys: string[] };
};
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    publisher: string;
    main: string;
    license: string;
    icon: string;
    repository: { url: string };
    engines: { vscode: string };
    activationEvents: string[];
    contributes: {
        commands: { command: string; title: string; category: string }[];
        menus: {
            commandPalette: { command: string; when: string }[];
            'view/title': { command: string; when: string; group?: string }[];
        };
        views: Record<string, { id: string; name: string }[]>;
        viewsWelcome: { view: string; when: string; contents: string }[];
        configuration: { properties: Record<string, { default?: unknown; scope?: string; type?: string }> };
    };
};

describe('wire.json and the extension’s constants agree', () => {
    it('server commands, served and planned', () => {
        assert.equal(wire.COMMAND_PREFIX, spec.commandPrefix);
        assert.deepEqual([...wire.SERVER_COMMANDS].sort(), Object.keys(spec.commands).sort());
        assert.deepEqual([...wire.PLANNED_SERVER_COMMANDS].sort(), [...spec.plannedCommands].sort());
    });

    it('notifications and their payload keys', () => {
        assert.deepEqual(wire.NOTIFICATIONS, spec.notifications);
        assert.deepEqual(wire.PLANNED_NOTIFICATIONS, spec.plannedNotifications ?? {});
        assert.deepEqual([...wire.SESSION_CHANGED_KEYS], spec.sessionChanged.keys);
        assert.deepEqual([...wire.SESSION_KEYS], spec.sessionChanged.sessionKeys);
        assert.deepEqual([...wire.COUNTS_KEYS], spec.sessionChanged.countsKeys);
        assert.deepEqual([...wire.SESSION_STATES], spec.sessionChanged.states);
        assert.deepEqual([...wire.ENTITIES_CAPTURED_KEYS], spec.entitiesCaptured.keys);
        assert.deepEqual([...wire.ENTITY_KEYS], spec.entitiesCaptured.entityKeys);
        assert.deepEqual([...wire.PAYLOADS_GENERATED_KEYS], spec.payloadsGenerated.keys);
        assert.deepEqual([...wire.PAYLOAD_KEYS], spec.payloadsGenerated.payloadKeys);
        assert.deepEqual([...wire.FAILURE_KEYS], spec.payloadsGenerated.failureKeys);
        assert.deepEqual([...wire.SYNC_STATUS_KEYS], spec.syncStatus.keys);
        assert.deepEqual([...wire.CAPTURE_PROBLEMS_KEYS], spec.captureProblems.keys);
        assert.deepEqual([...wire.CAPTURE_PROBLEM_KEYS], spec.captureProblems.problemKeys);
        assert.deepEqual([...wire.NEEDS_ACTION_KEYS], spec.syncStatus.needsActionKeys);
        assert.deepEqual([...wire.NEEDS_ACTION_ITEM_KEYS], spec.syncStatus.needsActionItemKeys);
        assert.deepEqual([...wire.NEEDS_ACTIONS].sort(), Object.keys(spec.syncStatus.actions).sort());
        assert.deepEqual([...wire.FLUSH_REPORT_KEYS], spec.results.flushReport);
        assert.deepEqual([...wire.ACTION_RESULT_KEYS], spec.results.action);
        const trustChanged: wire.TrustChanged = { workspaceTrusted: true };
        assert.deepEqual(Object.keys(trustChanged), Object.keys(spec.trustChanged.params));
    });

    it('client commands the server’s code actions call', () => {
        const ids = Object.fromEntries(Object.entries(spec.clientCommands).map(([k, v]) => [k, { id: v.id, args: v.args }]));
        assert.deepEqual(wire.CLIENT_COMMANDS, ids);
    });

    it('error data codes and the settings section', () => {
        assert.equal(spec.errorData.key, 'code');
        assert.deepEqual(wire.ERROR_CODES, spec.errorData.codes);
        assert.equal(wire.SETTINGS_SECTION, spec.settings.section);
        assert.deepEqual([...wire.CAPTURE_KEYS], spec.settings.captureKeys);
    });
});

describe('package.json contributes what the code registers', () => {
    const contributed = pkg.contributes.commands;

    it('every palette command, in category MSP, with the code’s id and title', () => {
        const expected = Object.values(COMMANDS)
            .map((c) => ({ command: c.id, title: c.title, category: CATEGORY }))
            .sort((a, b) => a.command.localeCompare(b.command));
        const actual = contributed
            .map((c) => ({ command: c.command, title: c.title, category: c.category }))
            .sort((a, b) => a.command.localeCompare(b.command));
        assert.deepEqual(actual, expected);
    });

    it('client ids are msp.<verb> and never reuse a server id', () => {
        const serverIds = new Set(
            [...Object.keys(spec.commands), ...spec.plannedCommands].map((v) => `${spec.commandPrefix}${v}`),
        );
        for (const { command } of contributed) {
            assert.match(command, /^msp\.[a-zA-Z]+$/, command);
            assert.ok(!serverIds.has(command), `${command} is a server command id`);
            assert.ok(!command.startsWith(spec.commandPrefix), command);
        }
        assert.equal(new Set(contributed.map((c) => c.command)).size, contributed.length, 'duplicate ids');
    });

    it('registers the client commands wire.json names, out of the palette when they need arguments', () => {
        const ids = new Set<string>(Object.values(COMMANDS).map((c) => c.id));
        const hidden = new Set(pkg.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command));
        for (const { id } of Object.values(spec.clientCommands)) {
            assert.ok(ids.has(id), `${id} is not registered`);
            assert.ok(!id.startsWith(spec.commandPrefix), id);
        }
        assert.deepEqual([...hidden].sort(), HIDDEN_FROM_PALETTE.map((k) => COMMANDS[k].id).sort());
    });

    it('palette `when` clauses are the code’s PALETTE_WHEN (Weekly Report needs the server)', () => {
        const listed = Object.fromEntries(
            pkg.contributes.menus.commandPalette.filter((m) => m.when !== 'false').map((m) => [m.command, m.when]),
        );
        const expected = Object.fromEntries(
            Object.entries(PALETTE_WHEN).map(([key, when]) => [COMMANDS[key as keyof typeof COMMANDS].id, when]),
        );
        assert.deepEqual(listed, expected);
        assert.equal(listed['msp.weeklyReport'], 'msp.serverRunning');
    });

    it('the MSP view: Session, History and Team; Weekly Report in each title’s overflow menu', () => {
        assert.deepEqual(pkg.contributes.views.msp.map((v) => v.id), ['msp.session', 'msp.history', 'msp.team']);
        const report = pkg.contributes.menus['view/title'].find((m) => m.command === 'msp.weeklyReport');
        assert.ok(report && !report.group?.startsWith('navigation'), 'in the overflow (…) menu');
        for (const view of ['msp.session', 'msp.history', 'msp.team']) {
            assert.ok(report.when.includes(`view == ${view}`), view);
        }
        const refresh = pkg.contributes.menus['view/title'].find((m) => m.command === 'msp.refreshTeam');
        assert.equal(refresh?.when, 'view == msp.team');
        const welcome = pkg.contributes.viewsWelcome.find((w) => w.view === 'msp.team' && w.when.includes('msp.teamGraph == none'));
        assert.ok(welcome?.contents.includes(`${pkg.repository.url.replace(/\.git$/, '')}/blob/main/docs/team.md`));
    });

    it('the issue’s palette list is all there', () => {
        const titles = new Set(contributed.map((c) => c.title));
        for (const title of [
            'Start Session', 'Update Progress', 'Record Decision', 'Record Blocker', 'Resolve Blocker',
            'Record Entity', 'End Session', 'Show Status', 'Export Context', 'Recover Session',
            'Show Payloads', 'Send Payload', 'Flush Outbox', 'Set Credential', 'Validate Integrations',
            'Generate Commit Message', 'Show Log', 'Restart Server',
        ]) {
            assert.ok(titles.has(title), title);
        }
    });

    it('activates on start-up or a .msp folder, never on *', () => {
        assert.deepEqual(pkg.activationEvents, ['onStartupFinished', 'workspaceContains:.msp']);
        assert.equal(pkg.main, './dist/extension.js');
        assert.equal(pkg.engines.vscode, '^1.101.0'); // vscode.lm.registerMcpServerDefinitionProvider (mcp.ts)
        assert.equal(`${pkg.publisher}.${pkg.name}`, 'msp-server.msp-vscode');
        assert.equal(pkg.license, 'MIT');
        for (const file of [pkg.icon, 'README.md', 'CHANGELOG.md', 'LICENSE']) {
            assert.ok(existsSync(path.join(ROOT, file)), file);
        }
    });

    it('settings live in the msp section; per-folder ones are resource-scoped', () => {
        const props = pkg.contributes.configuration.properties;
        for (const key of Object.keys(props)) {
            assert.ok(key.startsWith(`${spec.settings.section}.`), key);
        }
        for (const key of spec.settings.captureKeys) {
            assert.equal(props[`msp.capture.${key}`]?.scope, 'resource', `msp.capture.${key}`);
        }
        assert.equal(props['msp.integrations'].scope, 'resource');
        assert.equal(props['msp.server.command'].type, 'array');
        assert.ok(props['msp.notifications.level']);
    });
});

/** The `msp` section as VS Code hands it over with every setting at its default. */
function defaultSettings(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, prop] of Object.entries(pkg.contributes.configuration.properties)) {
        const parts = key.split('.').slice(1);
        let node = out;
        for (const part of parts.slice(0, -1)) {
            node = (node[part] ??= {}) as Record<string, unknown>;
        }
        node[parts[parts.length - 1]] = prop.default ?? null;
    }
    return out;
}

function pythonForServer(): string | undefined {
    const candidate = process.env.MSP_PYTHON ?? path.resolve(ROOT, '..', '.venv', 'bin', 'python');
    return existsSync(candidate) ? candidate : undefined;
}

function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
    let timer: NodeJS.Timeout;
    return Promise.race([
        promise,
        new Promise<T>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
        }),
    ]).finally(() => clearTimeout(timer));
}

const python = pythonForServer();
const required = process.env.CI === 'true' || process.env.MSP_REQUIRE_E2E === '1';
const skipServer = !python && !required ? 'no ../.venv/bin/python and no $MSP_PYTHON: the server part is skipped' : false;

describe('the real msp-server speaks the contract', { timeout: 120_000, skip: skipServer }, () => {
    let proc: ChildProcess | undefined;
    let conn: MessageConnection;
    let stderr = '';
    let folder = '';
    let folderUri = '';
    let capabilities: { executeCommandProvider?: { commands: string[] } } = {};
    const notifications: { method: string; params: Record<string, unknown> }[] = [];
    const shownErrors: string[] = [];
    const shownDocuments: string[] = [];
    const waiters: { method: string; test: (p: Record<string, unknown>) => boolean; resolve: (p: Record<string, unknown>) => void }[] = [];

    /** The next notification `method` (from now on) whose params pass `test`. */
    function next(method: string, test: (p: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
        return within(new Promise((resolve) => waiters.push({ method, test, resolve })), method);
    }

    function run<T>(verb: wire.ServerVerb, fields: Record<string, unknown> = {}): Promise<T> {
        return within(
            conn.sendRequest('workspace/executeCommand', {
                command: `${spec.commandPrefix}${verb}`,
                arguments: [buildArgs(folderUri, fields)],
            }) as Promise<T>,
            verb,
        );
    }

    before(async () => {
        if (!python) {
            throw new Error('no Python with msp_server: set MSP_PYTHON or create ../.venv');
        }
        folder = mkdtempSync(path.join(tmpdir(), 'msp-contract-'));
        folderUri = pathToFileURL(folder).toString();
        // One integration in generate mode, so that events make payloads. A vault path is a
        // place files are written: it counts from the user config (a folder's needs `msp trust`).
        mkdirSync(path.join(folder, '.msp'));
        const vault = path.join(folder, 'vault');
        mkdirSync(vault);
        const userDir = mkdtempSync(path.join(tmpdir(), 'msp-user-'));
        const userConfig = path.join(userDir, 'config.json');
        writeFileSync(
            userConfig,
            JSON.stringify({ integrations: { obsidian: { enabled: true, config: { vaultPath: vault } } } }),
        );
        // As the extension starts it (interpreter.ts, server.ts): `-P`, outside the folder.
        proc = spawn(python, ['-P', '-m', 'msp_server'], {
            cwd: userDir,
            env: { ...childEnv(), MSP_CONFIG_PATH: userConfig, MSP_LOG_LEVEL: 'INFO' },
            stdio: ['pipe', 'pipe', 'pipe'],
        });
        proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
        conn.onNotification((method: string, params: unknown) => {
            const p = (params ?? {}) as Record<string, unknown>;
            notifications.push({ method, params: p });
            if (method === 'window/showMessage' && p.type === 1) {
                shownErrors.push(String(p.message));
            }
            for (const w of [...waiters]) {
                if (w.method === method && w.test(p)) {
                    waiters.splice(waiters.indexOf(w), 1);
                    w.resolve(p);
                }
            }
        });
        // Every contributed setting at its default: what VS Code itself would answer (the
        // extension's middleware sends only what the user set, see below).
        conn.onRequest('workspace/configuration', (params: { items: { section?: string }[] }) =>
            params.items.map((item) => (item.section === spec.settings.section ? defaultSettings() : null)),
        );
        conn.onRequest('window/showDocument', (p: { uri: string }) => {
            shownDocuments.push(p.uri);
            return { success: true };
        });
        conn.onRequest('window/workDoneProgress/create', () => null);
        conn.onRequest('client/registerCapability', () => null);
        conn.listen();
        const result = (await within(
            conn.sendRequest('initialize', {
                processId: process.pid,
                rootUri: folderUri,
                workspaceFolders: [{ uri: folderUri, name: path.basename(folder) }],
                capabilities: { workspace: { configuration: true, workspaceFolders: true } },
                // What server.ts sends: `msp: {}` keeps the flag from being read as a setting.
                initializationOptions: { msp: {}, workspaceTrusted: true },
            }),
            'initialize',
        )) as { capabilities: typeof capabilities };
        capabilities = result.capabilities;
    });

    after(async () => {
        if (!proc) {
            return;
        }
        try {
            await within(conn.sendRequest('shutdown'), 'shutdown', 5000);
            await conn.sendNotification('exit');
        } catch {
            // killed below
        }
        const exited = new Promise((resolve) => proc!.once('exit', resolve));
        await within(exited, 'server exit', 5000).catch(() => proc!.kill('SIGKILL'));
        conn.dispose();
    });

    it('advertises exactly wire.json’s commands, none of the planned ones', () => {
        const advertised = [...(capabilities.executeCommandProvider?.commands ?? [])].sort();
        assert.deepEqual(advertised, Object.keys(spec.commands).map((v) => `${spec.commandPrefix}${v}`).sort());
    });

    it('sends msp/sessionChanged with wire.json’s keys, and takes the extension’s settings', async () => {
        const contributed = Object.keys(pkg.contributes.configuration.properties).map((k) => k.slice('msp.'.length));
        assert.deepEqual(settingsForServer(defaultSettings(), contributed, () => false), {}, 'defaults stay home');
        const idle = next(spec.notifications.sessionChanged);
        await conn.sendNotification('initialized', {});
        const first = await idle;
        assert.deepEqual(Object.keys(first).sort(), [...spec.sessionChanged.keys].sort());
        assert.equal(first.state, 'idle');
        assert.equal(first.folderUri, folderUri);
        assert.deepEqual(shownErrors, [], `the server rejected the default settings:\n${stderr}`);
    });

    it('accepts the arguments the palette commands build, and pushes the change and the payloads', async () => {
        const changed = next(spec.notifications.sessionChanged, (p) => p.state === 'active');
        const generated = next(spec.notifications.payloadsGenerated);
        const started = await run<wire.ActionResult>('startSession', { goal: 'Contract', progress: 40 });
        assert.equal(started.state, 'active');
        // A mutating command answers what it did: wire.json's "action" keys, the summary of
        // msp/sessionChanged, and the record it wrote (what the palette commands read).
        assert.deepEqual(Object.keys(started).sort(), [...spec.results.action].sort());
        assert.deepEqual(Object.keys(started.session ?? {}).sort(), [...spec.sessionChanged.sessionKeys].sort());
        assert.ok(started.session?.id, 'startSession’s answer names the session (its confirmation)');
        assert.equal(started.record?.kind, 'session');
        assert.equal(started.record?.id, started.session?.id);
        const payloads = await generated;
        assert.deepEqual(Object.keys(payloads).sort(), [...spec.payloadsGenerated.keys].sort());
        const first = (payloads.payloads as Record<string, unknown>[])[0];
        for (const key of spec.payloadsGenerated.payloadKeys) {
            assert.ok(key in first, `payload key ${key}`);
        }
        assert.equal(first.integration, 'obsidian');
        const listed = await run<{ payloads: wire.Payload[] }>('listPayloads');
        assert.ok(listed.payloads.some((p) => p.id === first.id));
        const opened = await run<{ uri: string }>('openPayload', { id: first.id });
        assert.deepEqual(shownDocuments, [opened.uri]);
        const integrations = await run<{ integrations: { name: string; valid: boolean }[] }>('validateIntegrations');
        assert.deepEqual(integrations.integrations.map((i) => [i.name, i.valid]), [['obsidian', true]]);
        // Delivery: "Send" on a generated payload (obsidian writes the note into the vault).
        const sent = await run<wire.Payload>('sendPayload', { id: first.id });
        assert.equal(sent.id, first.id);
        assert.equal(sent.status, 'sent', JSON.stringify(sent));
        const report = await run<wire.FlushReport>('flushOutbox');
        assert.deepEqual(Object.keys(report).sort(), [...spec.results.flushReport].sort());
        const active = await changed;
        const session = active.session as Record<string, unknown>;
        assert.deepEqual(Object.keys(session).sort(), [...spec.sessionChanged.sessionKeys].sort());
        assert.deepEqual(Object.keys(session.counts as object).sort(), [...spec.sessionChanged.countsKeys].sort());
        assert.equal(session.progress, 40);

        const updated = await run<wire.ActionResult>('update', { text: 'Wired the form', progress: 45 });
        assert.equal(updated.record?.kind, 'update');
        assert.equal(updated.session?.progress, 45);
        assert.equal(updated.session?.counts.updates, 1);
        await run('decide', { text: 'Signed tokens', rationale: 'no table', alternatives: ['a table'], impact: 'high' });
        const blocked = await run<wire.ActionResult>('block', { text: 'SMTP down', category: 'external', severity: 'high' });
        assert.equal(blocked.session?.openBlockers, 1);
        const status = await run<wire.StatusResult>('status');
        const blocker = status.session?.blockers?.find((b) => b.status === 'active');
        assert.ok(blocker, 'the open blocker is in the status result (Resolve Blocker’s quick pick)');
        const resolved = await run<wire.ActionResult>('resolve', { blocker: blocker.id, solution: 'Mailpit' });
        assert.equal(resolved.record?.status, 'resolved');
        assert.equal(resolved.session?.openBlockers, 0);
        await run('recordEntity', { name: 'ResetToken', type: 'class', path: 'auth.py', language: 'python', line: 3 });
        const exported = await run<{ format: string; content: string }>('exportContext', { format: 'markdown' });
        assert.equal(exported.format, 'markdown');
        assert.match(exported.content, /Signed tokens/);
        const sessions = await run<{ sessions: { id: string }[] }>('listSessions', { limit: 20 });
        assert.equal(sessions.sessions.length, 1);
        const after = await run<wire.StatusResult>('status');
        assert.equal(after.session?.progress, 45);
    });

    it('sends msp/syncStatus with wire.json’s keys', async () => {
        const sync = notifications.find((n) => n.method === spec.notifications.syncStatus)?.params
            ?? (await next(spec.notifications.syncStatus));
        assert.deepEqual(Object.keys(sync).sort(), [...spec.syncStatus.keys].sort());
        assert.equal(sync.folderUri, folderUri);
    });

    it('sends msp/entitiesCaptured with wire.json’s keys after a save', async () => {
        const file = path.join(folder, 'models.py');
        writeFileSync(file, 'class Mailer:\n    def send(self):\n        pass\n');
        const captured = next(spec.notifications.entitiesCaptured);
        await conn.sendNotification('textDocument/didSave', { textDocument: { uri: pathToFileURL(file).toString() } });
        const event = await captured;
        assert.deepEqual(Object.keys(event).sort(), [...spec.entitiesCaptured.keys].sort());
        const entities = event.entities as Record<string, unknown>[];
        assert.ok(entities.some((e) => e.name === 'Mailer' && e.type === 'class'));
        for (const entity of entities) {
            assert.deepEqual(Object.keys(entity).sort(), [...spec.entitiesCaptured.entityKeys].sort());
        }
    });

    it('refuses with error data codes from wire.json', async () => {
        const codeOf = async (verb: wire.ServerVerb, fields: Record<string, unknown>): Promise<unknown> => {
            try {
                await run(verb, fields);
            } catch (error) {
                assert.ok(error instanceof ResponseError, String(error));
                assert.ok(error.message.length > 0);
                return (error.data as Record<string, unknown>)[spec.errorData.key];
            }
            return 'no error';
        };
        assert.equal(await codeOf('update', { text: 'x', progress: 101 }), spec.errorData.codes.usage);
        assert.equal(await codeOf('startSession', {}), spec.errorData.codes.sessionAlreadyActive);
        await run('endSession', { summary: 'done' });
        assert.equal(await codeOf('update', { text: 'after the end' }), spec.errorData.codes.noActiveSession);
    });

    it('takes msp/trustChanged (the client’s notification) and keeps serving', async () => {
        const params: wire.TrustChanged = { workspaceTrusted: true };
        await conn.sendNotification(spec.notifications.trustChanged, params);
        const status = await run<wire.StatusResult>('status');
        assert.equal(status.state, 'idle');
        assert.deepEqual(shownErrors, [], `the server rejected msp/trustChanged:\n${stderr}`);
    });
});
