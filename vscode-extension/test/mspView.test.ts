import { mock } from './vscodeMock';

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { MspView } from '../src/mspView';
import { countsLine, describe as describeNode, Node, TreeModel } from '../src/treeModel';
import { ServerVerb } from '../src/wire';

const FOLDER = 'file:///work/app';
const START = '2026-03-02T09:00:00.000Z';
const NOW = new Date('2026-03-02T10:12:00.000Z');

/** A server that answers `status`, `listPayloads` and `listSessions`, and counts the calls. */
class FakeServer {
    state = 'running' as const;
    calls: ServerVerb[] = [];
    detail = session();
    payloads: Record<string, unknown>[] = [];
    sessions: Record<string, unknown>[] = [];
    past: Record<string, unknown> = {};
    async execute<T>(verb: ServerVerb): Promise<T> {
        this.calls.push(verb);
        if (verb === 'status') {
            return { state: 'active', session: this.detail } as T;
        }
        if (verb === 'showSession') {
            return { session: this.past } as T;
        }
        if (verb === 'listPayloads') {
            return { payloads: this.payloads } as T;
        }
        return { sessions: this.sessions } as T;
    }
}

function session() {
    return {
        id: 'msp-1',
        project: 'app',
        status: 'active',
        goal: 'Password reset flow',
        progress: 45,
        startTime: START,
        updates: [{ id: 'upd-1', timestamp: START, description: 'Wired the reset form', progress: 45 }],
        decisions: [
            {
                id: 'dec-1',
                timestamp: START,
                content: 'Use signed tokens',
                rationale: 'They need no table',
                alternatives: ['a tokens table', 'magic links'],
                impact: 'high',
            },
        ],
        blockers: [
            { id: 'blk-old', description: 'CI red', status: 'resolved', severity: 'low', createdAt: '2026-03-02T09:01:00Z' },
            { id: 'blk-open', description: 'SMTP sandbox down', status: 'active', severity: 'high', category: 'external', createdAt: '2026-03-02T09:00:30Z' },
        ],
        entities: [{ name: 'ResetToken', type: 'class', path: 'auth/reset.py', line: 12 }],
    };
}

function changed(counts = { updates: 1, decisions: 1, blockers: 2, entities: 1 }, progress = 45, id = 'msp-1', openBlockers = 1) {
    return {
        folderUri: FOLDER,
        state: 'active',
        session: { id, project: 'app', status: 'active', progress, startTime: START, lastActivity: START, goal: 'Password reset flow', openBlockers, counts },
    };
}

/** The view's Session tree with what each fired refresh named. */
function setUp(): { view: MspView; server: FakeServer; fired: (string | undefined)[] } {
    const server = new FakeServer();
    const view = new MspView(server as never, () => NOW);
    const fired: (string | undefined)[] = [];
    view.sessionTree.onDidChangeTreeData((node) => fired.push(node ? label(view, node) : undefined));
    return { view, server, fired };
}

function label(view: MspView, node: Node): string {
    return String(view.treeItem(node).label);
}

function children(view: MspView, node?: Node): Node[] {
    return view.sessionTree.getChildren(node);
}

function group(view: MspView, title: string): Node {
    const [root] = children(view);
    const found = children(view, root).find((n) => label(view, n) === title);
    assert.ok(found, title);
    return found;
}

describe('the MSP view: a session record as tree items', () => {
    beforeEach(() => mock.reset());

    it('shows the session (goal, progress, elapsed) and its five groups with their records', async () => {
        const { view, server } = setUp();
        await view.sessionChanged(changed());
        assert.deepEqual(server.calls, ['status', 'listPayloads']);

        const [root] = children(view);
        const item = view.treeItem(root);
        assert.equal(item.label, 'Password reset flow');
        assert.equal(item.description, '45% · 1h 12m');
        assert.equal(item.contextValue, 'msp.session.active');
        assert.deepEqual(
            children(view, root).map((n) => [label(view, n), view.treeItem(n).description]),
            [
                ['Updates', '1'],
                ['Decisions', '1'],
                ['Blockers', '2 · 1 open'],
                ['Entities', '1'],
                ['Payloads', '0'],
            ],
        );

        const [update] = children(view, group(view, 'Updates'));
        assert.equal(label(view, update), 'Wired the reset form');
        assert.equal(view.treeItem(update).description, '45% · 1h 12m ago');

        const [decision] = children(view, group(view, 'Decisions'));
        const tooltip = (view.treeItem(decision).tooltip as { value: string }).value;
        assert.match(tooltip, /Why: They need no table/);
        assert.match(tooltip, /Alternatives considered: a tokens table; magic links/);

        const blockers = children(view, group(view, 'Blockers'));
        assert.deepEqual(blockers.map((n) => label(view, n)), ['SMTP sandbox down', 'CI red'], 'open blockers first');
        assert.equal(view.treeItem(blockers[0]).contextValue, 'msp.blocker.open', 'the inline Resolve action matches it');
        assert.equal(view.treeItem(blockers[1]).contextValue, 'msp.blocker.resolved');

        const [entity] = children(view, group(view, 'Entities'));
        const open = view.treeItem(entity).command;
        assert.equal(open?.command, 'vscode.open');
        const [uri, options] = open?.arguments as [{ path: string }, { selection: { startLine: number } }];
        assert.equal(uri.path, '/work/app/auth/reset.py');
        assert.equal(options.selection.startLine, 11, 'the definition’s line (0-based)');
    });

    it('a progress change re-renders the session item only: no re-read', async () => {
        const { view, server, fired } = setUp();
        await view.sessionChanged(changed());
        server.calls = [];
        fired.length = 0;
        await view.sessionChanged(changed(undefined, 50));
        assert.deepEqual(server.calls, []);
        assert.deepEqual(fired, ['Password reset flow']);
        assert.equal(view.treeItem(children(view)[0]).description, '50% · 1h 12m');
    });

    it('a new decision reads the record once and refreshes the session and Decisions nodes only', async () => {
        const { view, server, fired } = setUp();
        await view.sessionChanged(changed());
        server.calls = [];
        fired.length = 0;
        server.detail.decisions.push({ id: 'dec-2', timestamp: START, content: 'Expire after 1 h', rationale: '', alternatives: [], impact: 'medium' });
        await view.sessionChanged(changed({ updates: 1, decisions: 2, blockers: 2, entities: 1 }));
        assert.deepEqual(server.calls, ['status']);
        assert.deepEqual(fired, ['Password reset flow', 'Decisions']);
        assert.deepEqual(children(view, group(view, 'Decisions')).map((n) => label(view, n)), ['Expire after 1 h', 'Use signed tokens']);
    });

    it('a record a command wrote goes into the view: the sessionChanged that follows reads nothing', async () => {
        const { view, server, fired } = setUp();
        await view.sessionChanged(changed());
        server.calls = [];
        fired.length = 0;
        const record = { kind: 'blocker', id: 'blk-new', description: 'Staging is down', status: 'active', severity: 'high', createdAt: '2026-03-02T10:00:00Z' };
        await view.recordWritten(FOLDER, { state: 'active', record, payloads: [] });
        assert.deepEqual(fired, ['Blockers']);
        await view.sessionChanged(changed({ updates: 1, decisions: 1, blockers: 3, entities: 1 }, 45, 'msp-1', 2));
        assert.deepEqual(server.calls, []);
        assert.deepEqual(children(view, group(view, 'Blockers')).map((n) => label(view, n)), ['Staging is down', 'SMTP sandbox down', 'CI red']);
        // Resolving it answers the same record, resolved: replaced by id, not added.
        await view.recordWritten(FOLDER, { record: { ...record, status: 'resolved' } });
        await view.sessionChanged(changed({ updates: 1, decisions: 1, blockers: 3, entities: 1 }, 45, 'msp-1', 1));
        assert.deepEqual(server.calls, []);
        assert.deepEqual(children(view, group(view, 'Blockers')).map((n) => view.treeItem(n).contextValue), ['msp.blocker.open', 'msp.blocker.resolved', 'msp.blocker.resolved']);
    });

    it('captured entities are added from the notification, and the count that follows reads nothing', async () => {
        const { view, server, fired } = setUp();
        await view.sessionChanged(changed());
        server.calls = [];
        fired.length = 0;
        await view.entitiesCaptured({ folderUri: FOLDER, entities: [{ name: 'send_mail', type: 'function', path: 'mail.py', language: 'python', line: 3 }] });
        assert.deepEqual(fired, ['Entities']);
        await view.sessionChanged(changed({ updates: 1, decisions: 1, blockers: 2, entities: 2 }));
        assert.deepEqual(server.calls, [], 'the view already holds both entities');
        assert.deepEqual(children(view, group(view, 'Entities')).map((n) => label(view, n)), ['ResetToken', 'send_mail']);
    });

    it('payloads arrive from msp/payloadsGenerated; an outbox change re-reads only them', async () => {
        const { view, server, fired } = setUp();
        await view.sessionChanged(changed());
        server.calls = [];
        fired.length = 0;
        const payload = { id: 'pay-1', integration: 'obsidian', kind: 'file', title: 'Progress upd-9cee9998 in the daily note', status: 'generated', sessionId: 'msp-1' };
        await view.payloadsGenerated({ folderUri: FOLDER, payloads: [payload], failures: [] });
        assert.deepEqual(fired, ['Payloads']);
        let [item] = children(view, group(view, 'Payloads'));
        assert.equal(label(view, item), 'Obsidian: progress in the daily note');
        assert.equal(view.treeItem(item).contextValue, 'msp.payload.generated', 'inline Copy/Open/Send');
        assert.deepEqual(server.calls, []);

        await view.syncStatus({ folderUri: FOLDER, queued: 0, dead: 0, sent: 0 });
        assert.deepEqual(server.calls, [], 'the first status is the baseline');
        server.payloads = [{ ...payload, status: 'dead', lastError: 'vault not found' }];
        fired.length = 0;
        await view.syncStatus({ folderUri: FOLDER, queued: 0, dead: 1, sent: 0 });
        assert.deepEqual(server.calls, ['listPayloads']);
        assert.deepEqual(fired, ['Payloads']);
        [item] = children(view, group(view, 'Payloads'));
        assert.equal(view.treeItem(item).contextValue, 'msp.payload.dead', 'inline Retry');
        assert.equal(view.treeItem(item).description, 'failed');
    });

    it('an ended session empties the tree (the welcome view shows) and History reads the past sessions', async () => {
        const { view, server, fired } = setUp();
        mock.setFolders('/work/app');
        await view.sessionChanged(changed());
        server.calls = [];
        fired.length = 0;
        await view.sessionChanged({ folderUri: FOLDER, state: 'idle', session: null });
        assert.deepEqual(children(view), []);
        assert.deepEqual(fired, [undefined]);
        server.sessions = [
            { id: 'msp-1', status: 'completed', startTime: START, endProgress: 60, goal: 'Password reset flow', counts: { updates: 1, decisions: 2, blockers: 0, entities: 1 } },
            // listSessions over LSP: whole sessions, no counts (the CLI adds them).
            { id: 'msp-0', status: 'completed', startTime: '2026-03-01T09:00:00.000Z', endProgress: 40, goal: null, updates: [{ id: 'upd-0' }], decisions: [] },
        ];
        const days = await view.historyTree.getChildren();
        assert.deepEqual(server.calls, ['listSessions']);
        assert.equal(days.length, 2);
        const [today] = await view.historyTree.getChildren(days[0]);
        assert.equal(label(view, today), 'Password reset flow');
        assert.match((view.treeItem(today).tooltip as { value: string }).value, /1 update · 2 decisions · 0 blockers · 1 entity/);
        await view.historyTree.getChildren();
        assert.deepEqual(server.calls, ['listSessions'], 'read once until a session changes');

        // Expanding a past session reads its whole record once (showSession).
        assert.equal(view.treeItem(today).collapsibleState, 1, 'collapsed, expandable');
        const [yesterday] = await view.historyTree.getChildren(days[1]);
        assert.equal(view.treeItem(yesterday).collapsibleState, 1, 'counted from its record lists');
        assert.match((view.treeItem(yesterday).tooltip as { value: string }).value, /1 update · 0 decisions/);
        server.past = { ...session(), id: 'msp-1', status: 'completed' };
        const records = await view.historyTree.getChildren(today);
        assert.deepEqual(server.calls, ['listSessions', 'showSession']);
        assert.deepEqual(records.map((n) => label(view, n)), ['Use signed tokens', 'SMTP sandbox down', 'CI red', 'Wired the reset form', 'ResetToken']);
        assert.equal(label(view, view.historyTree.getParent(records[0]) as Node), 'Password reset flow');
        await view.historyTree.getChildren(today);
        assert.deepEqual(server.calls, ['listSessions', 'showSession']);
    });

    it('lists a file capture could not parse first under Entities, until it parses again', async () => {
        const { view, server, fired } = setUp();
        await view.sessionChanged(changed());
        server.calls = [];
        fired.length = 0;
        await view.captureProblems({ folderUri: FOLDER, problems: [{ path: 'broken.py', reason: 'invalid syntax (line 3)' }], resolved: [] });
        assert.deepEqual(fired, ['Entities']);
        let rows = children(view, group(view, 'Entities'));
        assert.deepEqual(rows.map((n) => label(view, n)), ['broken.py', 'ResetToken']);
        assert.equal(view.treeItem(rows[0]).description, 'not scanned — fix and save');
        await view.captureProblems({ folderUri: FOLDER, problems: [], resolved: ['broken.py'] });
        rows = children(view, group(view, 'Entities'));
        assert.deepEqual(rows.map((n) => label(view, n)), ['ResetToken']);
        assert.deepEqual(server.calls, []);
    });

    it('finds a record by id for msp.showInView, with its parents for reveal', async () => {
        const { view } = setUp();
        await view.sessionChanged(changed());
        assert.equal(await view.showInView('dec-1'), true);
        const node = view.model.find('blk-open');
        assert.ok(node);
        const parent = view.sessionTree.getParent(node);
        assert.ok(parent);
        assert.equal(label(view, parent), 'Blockers');
        assert.equal(await view.showInView('dec-unknown'), false);
    });
});

describe('tree labels', () => {
    it('counts with the right plurals', () => {
        assert.equal(countsLine({ updates: 1, decisions: 2, blockers: 1, entities: 3 }, 1), '1 update · 2 decisions · 1 blocker (1 open) · 3 entities');
        assert.equal(countsLine({ updates: 0, decisions: 1, blockers: 0, entities: 1 }), '0 updates · 1 decision · 0 blockers · 1 entity');
    });

    it('a crashed session says so', () => {
        const model = new TreeModel();
        model.sessionChanged({ ...changed(), state: 'crashed' } as never);
        const view = describeNode(model, { kind: 'session', folderUri: FOLDER }, NOW);
        assert.equal(view.context, 'msp.session.crashed');
        assert.match(view.description ?? '', /^crashed · 45%/);
    });
});
