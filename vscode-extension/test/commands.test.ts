import { mock } from './vscodeMock';

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';

import { Commands, integrationReports } from '../src/commands';
import { Notifier } from '../src/notifications';
import { NotAvailableError, ServerApi, ServerNotRunningError } from '../src/serverApi';
import { StatusBar } from '../src/statusBar';
import { copyDocument, saveDocumentAs, VirtualDocuments } from '../src/virtualDocs';
import { ServerState } from '../src/statusModel';
import { EventEmitter, Uri } from './vscodeMock';
import { SERVER_COMMANDS, ServerVerb } from '../src/wire';

/** A server that records every call and answers from a script. */
class FakeServer implements ServerApi {
    state: ServerState = 'running';
    version = '0.1.0';
    serverLaunch: ServerApi['serverLaunch'] = undefined;
    calls: { verb: ServerVerb; args: Record<string, unknown> }[] = [];
    answers: Partial<Record<ServerVerb, unknown>> = {};
    served = new Set<ServerVerb>(SERVER_COMMANDS);
    onDidChangeState = new EventEmitter<ServerState>().event as never;
    restarted = 0;
    trustNotified = 0;
    cwd = tmpdir();

    isAvailable(verb: ServerVerb): boolean {
        return this.served.has(verb);
    }
    async execute<T>(verb: ServerVerb, args: Record<string, unknown>): Promise<T> {
        if (this.state !== 'running') {
            throw new ServerNotRunningError();
        }
        if (!this.isAvailable(verb)) {
            throw new NotAvailableError(verb, this.version);
        }
        this.calls.push({ verb, args });
        const answer = this.answers[verb];
        if (answer instanceof Error) {
            throw answer;
        }
        return (answer ?? { state: 'active', session: { id: 'msp-1' } }) as T;
    }
    async restart(): Promise<void> {
        this.restarted += 1;
    }
    launchCwd(): string {
        return this.cwd;
    }
    async notifyTrustChanged(): Promise<void> {
        this.trustNotified += 1;
    }
}

/** Like vscode-jsonrpc's ResponseError: a numeric code and data.code from wire.json. */
function refusal(message: string, code: number): Error {
    return Object.assign(new Error(message), { code: -32001, data: { code } });
}

let server: FakeServer;
let commands: Commands;
let bar: StatusBar;
let folderUri: string;

describe('palette commands send one object argument: folderUri + camelCase fields', () => {
    beforeEach(() => {
        mock.reset();
        folderUri = mock.setFolders('/work/app')[0].uri.toString();
        server = new FakeServer();
        bar = new StatusBar(server as never);
        commands = new Commands({ server, statusBar: bar, notifier: new Notifier({ canSend: () => false, sendPayloads: async () => undefined, openPayloads: async () => undefined }), docs: new VirtualDocuments() });
    });

    it('Start Session: goal and starting progress', async () => {
        mock.inputs.push('Password reset', '40');
        await commands.startSession();
        assert.deepEqual(server.calls, [{ verb: 'startSession', args: { folderUri, goal: 'Password reset', progress: 40 } }]);
        assert.deepEqual(mock.statusMessages, ['$(check) MSP: session msp-1 started']);
        bar.dispose();
    });

    it('Start Session with empty answers leaves the server its defaults; Escape sends nothing', async () => {
        mock.inputs.push('', '');
        await commands.startSession();
        assert.deepEqual(server.calls, [{ verb: 'startSession', args: { folderUri } }]);
        mock.inputs.push(undefined);
        await commands.startSession();
        assert.equal(server.calls.length, 1);
        bar.dispose();
    });

    it('Update Progress', async () => {
        mock.inputs.push('Wired the reset form', '45');
        await commands.updateProgress();
        assert.deepEqual(server.calls[0], { verb: 'update', args: { folderUri, text: 'Wired the reset form', progress: 45 } });
        bar.dispose();
    });

    it('Record Decision: rationale, alternatives and impact', async () => {
        mock.inputs.push('Use signed tokens', 'No table needed', 'a tokens table; magic links');
        mock.picks.push('high');
        await commands.recordDecision();
        assert.deepEqual(server.calls[0], {
            verb: 'decide',
            args: {
                folderUri,
                text: 'Use signed tokens',
                rationale: 'No table needed',
                alternatives: ['a tokens table', 'magic links'],
                impact: 'high',
            },
        });
        bar.dispose();
    });

    it('Record Blocker: category and severity', async () => {
        mock.inputs.push('SMTP sandbox is down');
        mock.picks.push('external', 'high');
        await commands.recordBlocker();
        assert.deepEqual(server.calls[0], {
            verb: 'block',
            args: { folderUri, text: 'SMTP sandbox is down', category: 'external', severity: 'high' },
        });
        bar.dispose();
    });

    it('Resolve Blocker: a quick pick of the open blockers only', async () => {
        server.answers.status = {
            state: 'active',
            session: {
                id: 'msp-1',
                blockers: [
                    { id: 'blk-1', description: 'SMTP down', status: 'active', severity: 'high' },
                    { id: 'blk-2', description: 'old one', status: 'resolved' },
                ],
            },
        };
        let offered: string[] = [];
        mock.picks.push((items) => {
            offered = (items as { label: string }[]).map((i) => i.label);
            return items[0];
        });
        mock.inputs.push('Switched to Mailpit');
        await commands.resolveBlocker();
        assert.deepEqual(offered, ['SMTP down']);
        assert.deepEqual(server.calls[1], { verb: 'resolve', args: { folderUri, blocker: 'blk-1', solution: 'Switched to Mailpit' } });
        bar.dispose();
    });

    it('Record Entity: path, language and line from the active editor', async () => {
        mock.editorFor('/work/app/auth/reset.py', 11);
        mock.inputs.push('ResetToken');
        mock.picks.push('class');
        await commands.recordEntity();
        assert.deepEqual(server.calls[0], {
            verb: 'recordEntity',
            args: { folderUri, name: 'ResetToken', type: 'class', path: 'auth/reset.py', language: 'python', line: 12 },
        });
        bar.dispose();
    });

    it('End Session with a summary', async () => {
        mock.inputs.push('Reset flow works');
        await commands.endSession();
        assert.deepEqual(server.calls[0], { verb: 'endSession', args: { folderUri, summary: 'Reset flow works' } });
        bar.dispose();
    });

    it('Export Context: format pick, opens the result read-only (msp:), Copy and Save As from its title', async () => {
        const docs = new VirtualDocuments();
        docs.register();
        commands = new Commands({ server, statusBar: bar, notifier: new Notifier({ canSend: () => false, sendPayloads: async () => undefined, openPayloads: async () => undefined }), docs });
        server.answers.exportContext = { format: 'markdown', content: '# Context' };
        mock.picks.push('markdown');
        await commands.exportContext();
        assert.deepEqual(server.calls[0], { verb: 'exportContext', args: { folderUri, format: 'markdown' } });
        assert.equal(mock.documents.length, 1);
        const uri = mock.documents[0].uri;
        assert.equal(uri?.scheme, 'msp', 'a read-only msp: document, not an Untitled buffer');
        assert.equal(uri?.path, '/context/app-markdown.md');
        assert.equal(mock.documents[0].content, '# Context');
        mock.activeEditor = { document: { uri } };
        await copyDocument(docs, undefined);
        assert.equal(mock.clipboard, '# Context');
        mock.saveAs = Uri.file('/work/app/context.md');
        await saveDocumentAs(docs, uri);
        assert.deepEqual(mock.written, { '/work/app/context.md': '# Context' });
        bar.dispose();
    });

    it('Recover Session: crashed sessions first, an ended one only with force after a confirmation', async () => {
        server.answers.listSessions = {
            sessions: [
                { id: 'msp-old', project: 'app', status: 'completed' },
                { id: 'msp-crash', project: 'app', status: 'crashed', progress: 30 },
            ],
        };
        let order: string[] = [];
        mock.picks.push((items) => {
            order = (items as { label: string }[]).map((i) => i.label);
            return items[0];
        });
        await commands.recoverSession();
        assert.deepEqual(order, ['msp-crash', 'msp-old']);
        assert.deepEqual(server.calls[1], { verb: 'recover', args: { folderUri, session: 'msp-crash' } });

        mock.picks.push('msp-old');
        mock.buttons.push('Reopen');
        await commands.recoverSession();
        assert.deepEqual(server.calls[3], { verb: 'recover', args: { folderUri, session: 'msp-old', force: true } });
        bar.dispose();
    });

    it('Generate Commit Message falls back to an editor without a git repository', async () => {
        server.answers.commitMessage = { message: 'feat(auth): reset tokens' };
        await commands.generateCommitMessage();
        assert.deepEqual(server.calls[0], { verb: 'commitMessage', args: { folderUri } });
        assert.deepEqual(mock.documents, [{ language: 'git-commit', content: 'feat(auth): reset tokens' }]);
        bar.dispose();
    });
});

describe('payloads and integrations', () => {
    const payload = { id: 'pay-7', integration: 'obsidian', hook: 'session_started', status: 'generated', kind: 'file', title: 'Daily note', path: 'Daily/x.md', content: '## MSP' };
    beforeEach(() => {
        mock.reset();
        folderUri = mock.setFolders('/work/app')[0].uri.toString();
        server = new FakeServer();
        bar = new StatusBar(server as never);
        commands = new Commands({ server, statusBar: bar, notifier: new Notifier({ canSend: () => false, sendPayloads: async () => undefined, openPayloads: async () => undefined }), docs: new VirtualDocuments() });
        server.answers.listPayloads = { payloads: [payload] };
    });

    it('Show Payloads lists them and opens the chosen one read-only (msp:/payload/<id>.<ext>)', async () => {
        const docs = new VirtualDocuments();
        docs.register();
        commands = new Commands({ server, statusBar: bar, notifier: new Notifier({ canSend: () => false, sendPayloads: async () => undefined, openPayloads: async () => undefined }), docs });
        mock.picks.push('Obsidian: daily note');
        await commands.showPayloads();
        assert.deepEqual(server.calls, [{ verb: 'listPayloads', args: { folderUri } }]);
        assert.equal(mock.documents[0].uri?.scheme, 'msp');
        assert.equal(mock.documents[0].uri?.path, '/payload/pay-7.md');
        assert.equal(mock.documents[0].content, '## MSP');
        bar.dispose();
    });

    it('msp.copyPayload {folderUri, id} (a code action) copies that payload', async () => {
        await commands.copyPayload({ folderUri, id: 'pay-7' });
        assert.equal(mock.clipboard, '## MSP');
        await commands.copyPayload({ folderUri, id: 'pay-gone' });
        assert.match(mock.shown.at(-1)?.message ?? '', /pay-gone was not found/);
        bar.dispose();
    });

    it('Validate Integrations shows each one and logs the report', async () => {
        server.answers.validateIntegrations = {
            integrations: [
                { name: 'obsidian', enabled: true, valid: true, delivery: 'generate', error: null, credentials: [] },
                { name: 'jira', enabled: true, valid: false, delivery: 'send', error: 'baseUrl: required', credentials: ['jira-api-token'] },
            ],
        };
        await commands.validateIntegrations();
        assert.deepEqual(server.calls, [{ verb: 'validateIntegrations', args: { folderUri } }]);
        assert.equal(mock.shown[0].kind, 'error', 'an enabled integration that cannot run is an error');
        assert.match(mock.shown[0].message, /obsidian: ok \(delivery generate\); jira: ERROR \(delivery send\) — baseUrl: required/);
        bar.dispose();
    });
});

describe('Set Credential', () => {
    beforeEach(() => {
        mock.reset();
        folderUri = mock.setFolders('/work/app')[0].uri.toString();
        server = new FakeServer();
        bar = new StatusBar(server as never);
        commands = new Commands({ server, statusBar: bar, notifier: new Notifier({ canSend: () => false, sendPayloads: async () => undefined, openPayloads: async () => undefined }), docs: new VirtualDocuments() });
    });

    it('asks in a password box and hands the secret to the server’s own CLI on stdin, not over LSP', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'msp-python-'));
        const python = join(dir, 'python');
        writeFileSync(
            python,
            `#!/bin/sh\necho "$@" > "${dir}/argv"\npwd > "${dir}/cwd"\necho "$PYTHONSAFEPATH" > "${dir}/env"\ncat > "${dir}/stdin"\n`,
        );
        chmodSync(python, 0o755);
        const folder = join(dir, 'folder');
        mkdirSync(folder);
        mock.setFolders(folder);
        server.cwd = mkdtempSync(join(tmpdir(), 'msp-launch-'));
        server.serverLaunch = { command: python, args: ['-P', '-m', 'msp_server'], source: 'setting', python };
        mock.picks.push('linear-api-key');
        mock.inputs.push('lin_api_s3cret');
        await commands.setCredential();
        assert.equal(mock.prompts[0].password, true);
        assert.equal(
            readFileSync(join(dir, 'argv'), 'utf8'),
            `-P -m msp_server.cli --workspace ${folder} credentials set linear-api-key\n`,
        );
        // Launch isolation: never run inside the folder (its modules would be importable).
        assert.equal(readFileSync(join(dir, 'cwd'), 'utf8').trim(), realpathSync(server.cwd));
        assert.equal(readFileSync(join(dir, 'env'), 'utf8').trim(), '1');
        assert.equal(readFileSync(join(dir, 'stdin'), 'utf8'), 'lin_api_s3cret\n');
        assert.deepEqual(server.calls, [], 'nothing went to the language server');
        assert.equal(mock.shown[0].message, 'MSP: credential linear-api-key stored in the OS keyring.');
        assert.ok(!mock.logLines.some((l) => l.includes('s3cret')), 'the secret is never logged');
        bar.dispose();
    });
});

describe('when the server refuses, lacks a command or is down', () => {
    beforeEach(() => {
        mock.reset();
        folderUri = mock.setFolders('/work/app')[0].uri.toString();
        server = new FakeServer();
        bar = new StatusBar(server as never);
        commands = new Commands({ server, statusBar: bar, notifier: new Notifier({ canSend: () => false, sendPayloads: async () => undefined, openPayloads: async () => undefined }), docs: new VirtualDocuments() });
    });

    it('"no active session" from the server: editor wording, and a Start Session button', async () => {
        server.answers.update = refusal('no active session (start one with `msp start`)', 1);
        mock.inputs.push('did it', '');
        mock.buttons.push('Start Session');
        await commands.updateProgress();
        assert.deepEqual(mock.shown[0], { kind: 'warning', message: 'MSP: Start a session first.', actions: ['Start Session'] });
        assert.deepEqual(mock.executed.filter((e) => e.command !== 'setContext'), [{ command: 'msp.startSession', args: [] }]);
        bar.dispose();
    });

    it('checks the session before asking anything: no prompt is collected and then dropped', async () => {
        bar.sessionChanged({ folderUri, state: 'idle', session: null });
        mock.buttons.push('Start Session');
        await commands.recordDecision();
        assert.equal(mock.prompts.length, 0, 'no input box was opened');
        assert.deepEqual(server.calls, []);
        assert.deepEqual(mock.shown[0], { kind: 'warning', message: 'MSP: Start a session first.', actions: ['Start Session'] });
        assert.deepEqual(mock.executed.filter((e) => e.command !== 'setContext'), [{ command: 'msp.startSession', args: [] }]);
        bar.dispose();
    });

    it('checks the server before asking anything', async () => {
        server.state = 'failed';
        await commands.updateProgress();
        await commands.startSession();
        assert.equal(mock.prompts.length, 0);
        assert.match(mock.shown[0].message, /language server is not running/);
        bar.dispose();
    });

    it('Start Session with a session running says so instead of asking for a goal', async () => {
        bar.sessionChanged({
            folderUri,
            state: 'active',
            session: { id: 'msp-1', project: 'app', progress: 10, startTime: '2026-03-02T09:00:00Z', openBlockers: 0, counts: { updates: 0, decisions: 0, blockers: 0, entities: 0 } },
        });
        await commands.startSession();
        assert.equal(mock.prompts.length, 0);
        assert.match(mock.shown[0].message, /^MSP: a session is already running/);
        bar.dispose();
    });

    it('a bad argument shows the server’s message naming the field', async () => {
        server.answers.decide = refusal('alternatives: must be at most 50 items', 64);
        mock.inputs.push('x', '', '');
        mock.picks.push('medium');
        await commands.recordDecision();
        assert.deepEqual(mock.shown[0], { kind: 'warning', message: 'MSP: alternatives: must be at most 50 items', actions: [] });
        bar.dispose();
    });

    for (const [key, verb] of [
        ['sendPayload', 'sendPayload'],
        ['flushOutbox', 'flushOutbox'],
        ['validateIntegrations', 'validateIntegrations'],
        ['showPayloads', 'listPayloads'],
    ] as const) {
        it(`${key} says "not available in this server version" when an older server lacks ${verb}`, async () => {
            server.served.delete(verb);
            await commands[key]();
            assert.equal(server.calls.length, 0, 'nothing is called, nothing is faked');
            assert.equal(mock.shown.length, 1);
            assert.equal(mock.shown[0].kind, 'warning');
            assert.match(mock.shown[0].message, /is not available in this server version \(msp-server 0\.1\.0 does not serve msp\.server\./);
            bar.dispose();
        });
    }

    it('Flush Outbox reports what the flush did', async () => {
        server.answers.flushOutbox = { sent: ['p1', 'p2'], retrying: ['p3'], dead: [], errors: { slack: 'HTTP 503' }, blocked: {}, queuedLeft: 1, deadTotal: 0 };
        await commands.flushOutbox();
        assert.deepEqual(server.calls, [{ verb: 'flushOutbox', args: { folderUri } }]);
        assert.deepEqual(mock.shown[0], {
            kind: 'warning',
            message: 'MSP: outbox flushed — 2 sent, 1 retrying, 0 dead; 1 left in the outbox.',
            actions: ['Show log'],
        });
        assert.ok(mock.logLines.some((l) => l.includes('outbox: slack: HTTP 503')));
        bar.dispose();
    });

    it('Send from a payload notification goes to msp.server.sendPayload with the payload id', async () => {
        server.answers.sendPayload = { id: 'pay-1', integration: 'slack', kind: 'http', title: 'Notice', status: 'sent' };
        await commands.sendPayloads(folderUri, [{ id: 'pay-1', integration: 'slack', kind: 'http', title: 'Notice' }]);
        assert.deepEqual(server.calls, [{ verb: 'sendPayload', args: { folderUri, id: 'pay-1' } }]);
        assert.deepEqual(mock.statusMessages, ['$(check) MSP: sent — Slack: notice']);
        server.answers.sendPayload = { id: 'pay-1', integration: 'slack', kind: 'http', title: 'Notice', status: 'queued', lastError: 'HTTP 503' };
        await commands.sendPayloads(folderUri, [{ id: 'pay-1', integration: 'slack', kind: 'http', title: 'Notice' }]);
        assert.equal(mock.shown[0].message, 'MSP: Slack: notice is not sent yet (HTTP 503); MSP retries it by itself.');
        bar.dispose();
    });

    it('a stopped server offers Restart Server', async () => {
        server.state = 'failed';
        mock.inputs.push('', '');
        mock.buttons.push('Restart Server');
        await commands.startSession();
        assert.equal(mock.shown[0].message, 'MSP: the language server is not running.');
        assert.equal(server.restarted, 1);
        bar.dispose();
    });

    it('reads validateIntegrations like `msp integrations --json`', () => {
        assert.deepEqual(
            integrationReports([{ name: 'slack', enabled: true, valid: false, delivery: 'send', error: 'bad url', credentials: ['slack-webhook'] }]),
            [{ name: 'slack', enabled: true, valid: false, delivery: 'send', error: 'bad url', credentials: ['slack-webhook'] }],
        );
        assert.deepEqual(integrationReports({ integrations: [] }), []);
    });
});

/**
 * A fake `python` whose `-P -m msp_server.cli ... trust` answers like the real CLI: the JSON of
 * $dir/show.json for `--show`, $dir/trusted.json otherwise; every argv line goes to $dir/argv.
 */
function fakeTrustCli(dir: string): string {
    const python = join(dir, 'python');
    writeFileSync(
        python,
        [
            '#!/bin/sh',
            `echo "$@" >> "${dir}/argv"`,
            `pwd >> "${dir}/cwd"`,
            'case "$*" in',
            `  *--show*) cat "${dir}/show.json" ;;`,
            `  *--sha256*) if [ -e "${dir}/changed" ]; then echo "msp: sha256: the config changed since it was shown" >&2; exit 64; fi; cat "${dir}/trusted.json" ;;`,
            `  *) cat "${dir}/trusted.json" ;;`,
            'esac',
            '',
        ].join('\n'),
    );
    chmodSync(python, 0o755);
    return python;
}

describe('MSP: Trust Folder Configuration', () => {
    let dir: string;
    let folder: string;
    const needsTrust = [
        { key: 'integrations.linear.delivery', value: 'send' },
        { key: 'integrations.linear.config.endpoint', value: 'https://attacker.example/graphql' },
    ];
    const show = (over: Record<string, unknown> = {}) => ({
        folder,
        configPath: `${folder}/.msp/config.json`,
        exists: true,
        trusted: false,
        sha256: 'ab'.repeat(32),
        needsTrust,
        ...over,
    });

    beforeEach(() => {
        mock.reset();
        dir = mkdtempSync(join(tmpdir(), 'msp-trust-'));
        folder = join(dir, 'cloned');
        mkdirSync(folder);
        mock.setFolders(folder);
        server = new FakeServer();
        server.cwd = mkdtempSync(join(tmpdir(), 'msp-launch-'));
        const python = fakeTrustCli(dir);
        server.serverLaunch = { command: python, args: ['-P', '-m', 'msp_server'], source: 'path', python };
        bar = new StatusBar(server as never);
        commands = new Commands({ server, statusBar: bar, notifier: new Notifier({ canSend: () => false, sendPayloads: async () => undefined, openPayloads: async () => undefined }), docs: new VirtualDocuments() });
    });

    const argv = () => readFileSync(join(dir, 'argv'), 'utf8').trim().split('\n');

    it('shows each key and value in a modal, trusts on "Trust" and tells the server', async () => {
        writeFileSync(join(dir, 'show.json'), JSON.stringify(show()));
        writeFileSync(join(dir, 'trusted.json'), JSON.stringify(show({ trusted: true })));
        mock.buttons.push('Trust');
        await commands.trustFolderConfig();
        const modal = mock.shown[0];
        assert.equal(modal.modal, true);
        assert.deepEqual(modal.actions, ['Trust']);
        assert.equal(modal.message, 'MSP: trust the configuration of cloned?');
        assert.match(modal.detail ?? '', /• integrations\.linear\.delivery = "send"/);
        assert.match(modal.detail ?? '', /• integrations\.linear\.config\.endpoint = "https:\/\/attacker\.example\/graphql"/);
        assert.deepEqual(argv(), [
            `-P -m msp_server.cli --workspace ${folder} trust --show --json`,
            `-P -m msp_server.cli --workspace ${folder} trust --sha256 ${'ab'.repeat(32)} --json`,
        ]);
        for (const cwd of readFileSync(join(dir, 'cwd'), 'utf8').trim().split('\n')) {
            assert.equal(cwd, realpathSync(server.cwd), 'the CLI never runs inside the folder');
        }
        assert.equal(server.trustNotified, 1);
        assert.equal(mock.shown[1].message, 'MSP: the configuration of cloned is trusted.');
    });

    it('trusts nothing when the modal is dismissed', async () => {
        writeFileSync(join(dir, 'show.json'), JSON.stringify(show()));
        mock.buttons.push(undefined);
        await commands.trustFolderConfig();
        assert.deepEqual(argv(), [`-P -m msp_server.cli --workspace ${folder} trust --show --json`]);
        assert.equal(server.trustNotified, 0);
    });

    it('says there is nothing to trust when the config sets no such key, or has no config', async () => {
        writeFileSync(join(dir, 'show.json'), JSON.stringify(show({ needsTrust: [] })));
        await commands.trustFolderConfig();
        assert.match(mock.shown[0].message, /sets nothing that needs trust: there is nothing to trust/);
        writeFileSync(join(dir, 'show.json'), JSON.stringify(show({ exists: false, sha256: null, needsTrust: [] })));
        await commands.trustFolderConfig();
        assert.match(mock.shown[1].message, /has no \.msp\/config\.json: there is nothing to trust/);
        assert.equal(mock.shown.filter((m) => m.modal).length, 0);
        assert.equal(server.trustNotified, 0);
    });

    it('in Restricted Mode asks to trust the workspace first and runs nothing', async () => {
        mock.isTrusted = false;
        mock.buttons.push('Manage Workspace Trust');
        await commands.trustFolderConfig();
        assert.match(mock.shown[0].message, /Restricted Mode\. Trust the workspace first/);
        assert.deepEqual(mock.executed.filter((e) => e.command !== 'setContext'), [{ command: 'workbench.trust.manage', args: [] }]);
        assert.ok(!existsSync(join(dir, 'argv')), 'no CLI call');
    });

    it('trusts nothing when the file changed between the dialog and the trust', async () => {
        writeFileSync(join(dir, 'show.json'), JSON.stringify(show()));
        writeFileSync(join(dir, 'changed'), '');
        mock.buttons.push('Trust');
        await commands.trustFolderConfig();
        assert.equal(argv()[1], `-P -m msp_server.cli --workspace ${folder} trust --sha256 ${'ab'.repeat(32)} --json`);
        assert.match(mock.shown[1].message, /changed while you were deciding; nothing was trusted/);
        assert.equal(server.trustNotified, 0);
    });

    it('shows the CLI’s error, and "not available" for an msp without trust', async () => {
        writeFileSync(join(dir, 'python'), '#!/bin/sh\necho "msp: trust: the config is not valid JSON" >&2\nexit 3\n');
        await commands.trustFolderConfig();
        assert.equal(mock.shown[0].kind, 'error');
        assert.match(mock.shown[0].message, /could not read the trust of cloned: trust: the config is not valid JSON/);
        writeFileSync(join(dir, 'python'), "#!/bin/sh\necho \"msp: error: argument command: invalid choice: 'trust'\" >&2\nexit 2\n");
        await commands.trustFolderConfig();
        assert.match(mock.shown[1].message, /not available in this server version/);
    });
});

describe('MSP: Trust Folder Configuration with the real `msp trust`', () => {
    const python = process.env.MSP_PYTHON ?? join(__dirname, '..', '..', '..', '.venv', 'bin', 'python');
    let savedConfig: string | undefined;

    beforeEach(() => {
        mock.reset();
        savedConfig = process.env.MSP_CONFIG_PATH;
    });

    it('trusts exactly the file it showed, outside the folder, and tells the server', async (t) => {
        if (!existsSync(python)) {
            t.skip(`no ${python}`);
            return;
        }
        const dir = mkdtempSync(join(tmpdir(), 'msp-trust-real-'));
        process.env.MSP_CONFIG_PATH = join(dir, 'user', 'config.json'); // the trust file lives beside it
        try {
            const folder = join(dir, 'cloned');
            mkdirSync(join(folder, '.msp'), { recursive: true });
            const config = { integrations: { linear: { enabled: true, delivery: 'send', config: { issueId: 'ENG-1', endpoint: 'http://127.0.0.1:9/graphql' } } } };
            writeFileSync(join(folder, '.msp', 'config.json'), JSON.stringify(config));
            mock.setFolders(folder);
            server = new FakeServer();
            server.cwd = mkdtempSync(join(tmpdir(), 'msp-launch-'));
            server.serverLaunch = { command: python, args: ['-P', '-m', 'msp_server'], source: 'path', python };
            bar = new StatusBar(server as never);
            commands = new Commands({ server, statusBar: bar, notifier: new Notifier({ canSend: () => false, sendPayloads: async () => undefined, openPayloads: async () => undefined }), docs: new VirtualDocuments() });
            mock.buttons.push('Trust');
            await commands.trustFolderConfig();
            assert.equal(mock.shown[0].modal, true, JSON.stringify(mock.shown));
            assert.match(mock.shown[0].detail ?? '', /• integrations\.linear\.delivery = "send"\n• integrations\.linear\.config\.endpoint = "http:\/\/127\.0\.0\.1:9\/graphql"/);
            assert.equal(mock.shown[1].message, 'MSP: the configuration of cloned is trusted.');
            assert.equal(server.trustNotified, 1);
            // Asked again: already trusted; after an edit: asks again.
            await commands.trustFolderConfig();
            assert.equal(mock.shown[2].message, 'MSP: the configuration of cloned is already trusted.');
            writeFileSync(join(folder, '.msp', 'config.json'), JSON.stringify({ ...config, project: 'edited' }));
            mock.buttons.push(undefined);
            await commands.trustFolderConfig();
            assert.equal(mock.shown[3].modal, true);
            bar.dispose();
        } finally {
            if (savedConfig === undefined) {
                delete process.env.MSP_CONFIG_PATH;
            } else {
                process.env.MSP_CONFIG_PATH = savedConfig;
            }
        }
    });
});
