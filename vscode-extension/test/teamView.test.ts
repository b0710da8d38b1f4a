import { mock } from './vscodeMock';

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { MspView } from '../src/mspView';
import { describeTeam, parseTeamAnswer, teamBanner, teamChildren, TeamNode } from '../src/teamModel';
import { TEAM_GRAPH_KEY, TEAM_VIEW, TeamTree } from '../src/teamView';
import { ServerVerb } from '../src/wire';

const NOW = new Date('2026-12-02T09:10:00.000Z');
const FETCHED = '2026-12-02T08:55:00.000Z';

/** The server's `team` answer (service/team.py): one teammate with one of everything. */
function answer(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        project: 'shop',
        me: 'ada@example.com',
        days: 7,
        graph: 'falkordb team',
        stale: false,
        fetchedAt: FETCHED,
        teammates: [
            {
                user: 'bob@example.com',
                sessions: [
                    {
                        id: 'msp-2026-12-02-090000-bob',
                        goal: 'Reset e-mails',
                        branch: 'feature/reset-mail',
                        status: 'active',
                        progress: 30,
                        startTime: '2026-12-02T09:00:00.000Z',
                        endTime: null,
                    },
                ],
                openBlockers: [
                    { id: 'blk-1', description: 'SMTP sandbox is down', severity: 'high', category: 'external', createdAt: '2026-12-02T09:05:00Z' },
                ],
                decisions: [
                    { id: 'dec-1', content: 'Reset tokens expire after 1 h', rationale: 'short-lived links', impact: 'high', timestamp: '2026-12-02T09:06:00Z' },
                ],
                overlap: [
                    { path: 'auth/reset.py', name: 'ResetToken', type: 'class' },
                    { path: '../../etc/passwd', name: 'x', type: 'function' },
                ],
            },
        ],
        ...extra,
    };
}

/** A JSON-RPC refusal as vscode-jsonrpc raises it (code, message, data.code). */
class RpcRefusal extends Error {
    constructor(
        message: string,
        readonly code: number,
        readonly data: unknown,
    ) {
        super(message);
    }
}

class FakeServer {
    state: 'running' | 'stopped' = 'running';
    calls: ServerVerb[] = [];
    team: Record<string, unknown> | Error = answer();
    async execute<T>(verb: ServerVerb): Promise<T> {
        this.calls.push(verb);
        if (verb === 'team') {
            if (this.team instanceof Error) {
                throw this.team;
            }
            return this.team as T;
        }
        if (verb === 'status') {
            return { state: 'active', session: { id: 'msp-1', startTime: FETCHED, status: 'active' } } as T;
        }
        return {} as T;
    }
    teamCalls(): number {
        return this.calls.filter((c) => c === 'team').length;
    }
}

function setUp(): { tree: TeamTree; server: FakeServer } {
    const server = new FakeServer();
    const tree = new TeamTree(server as never, () => NOW);
    tree.register();
    return { tree, server };
}

async function labels(tree: TeamTree, node?: TeamNode): Promise<string[]> {
    return (await tree.getChildren(node)).map((n) => String(tree.getTreeItem(n).label));
}

describe('Team view: items from a team answer', () => {
    beforeEach(() => {
        mock.reset();
        mock.setFolders('/work/shop');
    });

    it('shows each teammate with sessions, open blockers, decisions in force and shared files', async () => {
        const { tree, server } = setUp();
        const [mate] = await tree.getChildren();
        const item = tree.getTreeItem(mate);
        assert.equal(item.label, 'bob@example.com');
        assert.equal(item.description, '1 session · 1 open blocker · 1 decision · 2 shared files');
        assert.deepEqual(await labels(tree, mate), [
            'Reset e-mails',
            'Blocked: SMTP sandbox is down',
            'Decided: Reset tokens expire after 1 h',
            'Also working on auth/reset.py',
            'Also working on ../../etc/passwd',
        ]);
        const rows = await tree.getChildren(mate);
        assert.equal(tree.getTreeItem(rows[0]).description, 'active · 30% · feature/reset-mail · 10m ago');
        assert.equal(tree.getTreeItem(rows[1]).description, 'high · external · opened 5m ago');
        assert.equal(server.teamCalls(), 1);
    });

    it('a shared file opens on click; a path leaving the folder does not', async () => {
        const { tree } = setUp();
        const [mate] = await tree.getChildren();
        const rows = await tree.getChildren(mate);
        const file = tree.getTreeItem(rows[3]);
        assert.equal(file.command?.command, 'vscode.open');
        assert.equal(String(file.command?.arguments?.[0]), 'file:///work/shop/auth/reset.py');
        assert.equal(tree.getTreeItem(rows[4]).command, undefined);
    });

    it('a fresh answer: "updated" in the description, no message', async () => {
        const { tree } = setUp();
        await tree.getChildren();
        const view = mock.treeViews[TEAM_VIEW];
        assert.match(view.description ?? '', /^updated \d\d:\d\d$/);
        assert.equal(view.message, undefined);
        assert.deepEqual(mock.executed.at(-1), { command: 'setContext', args: [TEAM_GRAPH_KEY, 'configured'] });
    });

    it('ignores rows of the wrong shape from the shared graph', () => {
        const parsed = parseTeamAnswer({ ...answer(), teammates: [{ user: 'x', sessions: [{}], openBlockers: [{ id: 'b' }], decisions: 'no' }, { sessions: [] }, 3] });
        assert.equal(parsed?.teammates.length, 1);
        assert.deepEqual(parsed?.teammates[0], { user: 'x', sessions: [], openBlockers: [], decisions: [], overlap: [] });
        assert.equal(parseTeamAnswer({ project: 'p' }), undefined);
        const odd = parseTeamAnswer({
            ...answer(),
            teammates: [{ user: 'y', sessions: [{ id: 7, goal: { $ne: 1 }, progress: '30', branch: ['x'] }], decisions: [{ id: 'd', content: 42 }] }],
        });
        assert.deepEqual(odd?.teammates[0].sessions, [
            { id: '7', goal: null, branch: null, status: null, progress: null, startTime: null, endTime: null },
        ]);
        assert.equal(odd?.teammates[0].decisions[0].content, '42');
        const [session] = teamChildren({ kind: 'teammate', folderUri: 'file:///work/shop', mate: odd!.teammates[0] });
        assert.equal(describeTeam(session, NOW).label, '7');
    });

    it('escapes Markdown in tooltips (teammates’ text is untrusted)', () => {
        const mate = parseTeamAnswer(answer())!.teammates[0];
        mate.decisions[0].content = '[click](command:msp.endSession)';
        const [, , decision] = teamChildren({ kind: 'teammate', folderUri: 'file:///work/shop', mate });
        const tooltip = describeTeam(decision, NOW).tooltip ?? '';
        assert.ok(!tooltip.includes('[click]('), tooltip);
    });
});

describe('Team view: stale answers', () => {
    beforeEach(() => {
        mock.reset();
        mock.setFolders('/work/shop');
    });

    it('says stale, why and when it was fetched, and still lists the cached teammates', async () => {
        const { tree, server } = setUp();
        server.team = answer({ stale: true, reason: 'FalkorDB: cannot connect (ConnectionError)' });
        assert.deepEqual(await labels(tree), ['bob@example.com']);
        const view = mock.treeViews[TEAM_VIEW];
        assert.equal(view.description, 'stale');
        assert.match(
            view.message ?? '',
            /^Stale: FalkorDB: cannot connect \(ConnectionError\) — showing as fetched at \d\d:\d\d \(15m ago\)\.$/,
        );
    });

    it('a stale answer never fetched before says so', () => {
        const stale = parseTeamAnswer(answer({ stale: true, reason: 'restricted mode', fetchedAt: null, teammates: [] }))!;
        const banner = teamBanner([['shop', { kind: 'answer', answer: stale }]], NOW);
        assert.equal(banner.message, 'Stale: restricted mode — showing nothing fetched before.');
    });

    it('no graph configured: no items and the welcome’s context key', async () => {
        const { tree, server } = setUp();
        server.team = new RpcRefusal(
            "msp team reads the team's shared graph: enable the neo4j integration (integrations.neo4j, dialect neo4j or falkordb; docs/team.md)",
            -32603,
            { code: 3 },
        );
        assert.deepEqual(await tree.getChildren(), []);
        assert.deepEqual(mock.executed.at(-1), { command: 'setContext', args: [TEAM_GRAPH_KEY, 'none'] });
        assert.equal(mock.treeViews[TEAM_VIEW].message, undefined);
    });

    it('another error is said in the message', async () => {
        const { tree, server } = setUp();
        server.team = new RpcRefusal("reading a FalkorDB graph needs the falkordb extra: pip install 'msp-server[falkordb]'", -32603, { code: 3 });
        assert.deepEqual(await tree.getChildren(), []);
        assert.match(mock.treeViews[TEAM_VIEW].message ?? '', /^Team not available: reading a FalkorDB graph needs the falkordb extra/);
    });
});

describe('Team view: when it asks the server', () => {
    beforeEach(() => {
        mock.reset();
        mock.setFolders('/work/shop');
    });

    it('never on notifications; once when shown; again on Refresh and when shown again', async () => {
        const server = new FakeServer();
        const view = new MspView(server as never, () => NOW);
        view.register();
        const folderUri = 'file:///work/shop';
        await view.sessionChanged({ folderUri, state: 'active', session: { id: 'msp-1', status: 'active', startTime: FETCHED, counts: { updates: 1, decisions: 1, blockers: 0, entities: 0 } } });
        await view.entitiesCaptured({ folderUri, entities: [{ name: 'A', type: 'class', path: 'a.py' }] });
        await view.payloadsGenerated({ folderUri, payloads: [], failures: [] });
        await view.syncStatus({ folderUri, queued: 0 });
        await view.captureProblems({ folderUri, problems: [], resolved: [] });
        await view.refreshAll();
        assert.equal(server.teamCalls(), 0, server.calls.join(' '));

        await view.teamTree.getChildren(); // shown (or expanded) the first time
        await view.teamTree.getChildren(); // the tree reads its root again: from what it holds
        assert.equal(server.teamCalls(), 1);

        const tv = mock.treeViews[TEAM_VIEW];
        tv.visibility.fire({ visible: true }); // the first showing: getChildren already asked
        await view.teamTree.getChildren();
        assert.equal(server.teamCalls(), 1);

        view.teamTree.refresh(); // the Refresh button
        await view.teamTree.getChildren();
        assert.equal(server.teamCalls(), 2);

        tv.visibility.fire({ visible: false });
        tv.visibility.fire({ visible: true });
        await view.teamTree.getChildren();
        assert.equal(server.teamCalls(), 3);
    });

    it('concurrent reads of the root share one question', async () => {
        const { tree, server } = setUp();
        await Promise.all([tree.getChildren(), tree.getChildren(), tree.getChildren()]);
        assert.equal(server.teamCalls(), 1);
    });

    it('asks nothing while the server is not running, and asks when shown after it runs', async () => {
        const { tree, server } = setUp();
        server.state = 'stopped';
        assert.deepEqual(await tree.getChildren(), []);
        assert.equal(server.teamCalls(), 0);
        server.state = 'running';
        let fired = 0;
        tree.onDidChangeTreeData(() => fired++);
        tree.serverStarted();
        assert.equal(fired, 1, 'the tree reads its root again');
        assert.deepEqual(await labels(tree), ['bob@example.com']);
        assert.equal(server.teamCalls(), 1);
        tree.serverStarted(); // a later restart: nothing was waiting
        assert.equal(fired, 1);
    });

    it('several folders: one root per folder with an answer', async () => {
        mock.setFolders('/work/shop', '/work/api');
        const { tree, server } = setUp();
        assert.deepEqual(await labels(tree), ['shop', 'api']);
        assert.equal(server.teamCalls(), 2);
        const [shop] = await tree.getChildren();
        assert.deepEqual(await labels(tree, shop), ['bob@example.com']);
    });
});
