/**
 * The MSP view (its own activity-bar container): "Session" shows the active session's whole
 * record, "History" the past sessions by day, "Team" what teammates do. Both follow the server's notifications through
 * TreeModel, which says which nodes changed and which parts to read again: `status` only when
 * the session's record moved past what the view holds, `listPayloads` when the outbox moved,
 * `listSessions` when History is shown after a session ended. "Team" (teamView.ts) reads the
 * server's `team` answer only when shown or refreshed.
 */

import * as vscode from 'vscode';

import { log } from './log';
import { parseCaptureProblems } from './notifications';
import { safeRelative } from './paths';
import { payloadsFrom } from './payloads';
import { ServerApi } from './serverApi';
import { parseSessionChanged } from './statusBar';
import { TeamTree } from './teamView';
import { treeItemOf } from './treeItem';
import { describe, Node, nodeId, PastSession, Refresh, TreeModel } from './treeModel';
import { CapturedEntity, SessionDetail, StatusResult } from './wire';

export const SESSION_VIEW = 'msp.session';
export const HISTORY_VIEW = 'msp.history';
const HISTORY_LIMIT = 50;

type ViewServer = Pick<ServerApi, 'execute' | 'state'>;

/** One node object per id, so that refresh and reveal speak of the nodes the view was given. */
class Interned {
    private readonly nodes = new Map<string, Node>();
    get(node: Node): Node {
        const id = nodeId(node);
        const known = this.nodes.get(id);
        if (known) {
            Object.assign(known, node);
            return known;
        }
        this.nodes.set(id, node);
        return node;
    }
}

function folderUriOf(uri: string): string {
    try {
        return vscode.Uri.parse(uri).toString();
    } catch {
        return uri;
    }
}

abstract class Tree implements vscode.TreeDataProvider<Node> {
    protected readonly emitter = new vscode.EventEmitter<Node | undefined>();
    readonly onDidChangeTreeData = this.emitter.event;

    constructor(
        protected readonly view: MspView,
        protected readonly nodes: Interned,
    ) {}

    fire(node: Node | undefined): void {
        this.emitter.fire(node && this.nodes.get(node));
    }

    getTreeItem(node: Node): vscode.TreeItem {
        return this.view.treeItem(node);
    }

    getParent(node: Node): Node | undefined {
        const parent = this.view.model.parent(node);
        return parent && this.nodes.get(parent);
    }

    abstract getChildren(node?: Node): Promise<Node[]> | Node[];
}

class SessionTree extends Tree {
    getChildren(node?: Node): Node[] {
        return this.view.model.children(node).map((n) => this.nodes.get(n));
    }
}

class HistoryTree extends Tree {
    async getChildren(node?: Node): Promise<Node[]> {
        if (node?.kind === 'past' && !this.view.model.hasPastDetail(node.folderUri, node.record.id)) {
            await this.view.readPast(node.folderUri, node.record.id);
        }
        if (node) {
            return this.view.model.children(node).map((n) => this.nodes.get(n));
        }
        const folders = vscode.workspace.workspaceFolders ?? [];
        const days: Node[] = [];
        for (const folder of folders) {
            const folderUri = folder.uri.toString();
            if (!this.view.model.history(folderUri)) {
                await this.view.readHistory(folderUri);
            }
            days.push(...this.view.model.days(folderUri));
        }
        return days.map((n) => this.nodes.get(n));
    }
}

/** `counts` of a listed session: given (the CLI's shape), else counted from its record lists. */
function withCounts(s: PastSession): PastSession {
    if (s.counts) {
        return s;
    }
    const raw = s as unknown as Record<string, unknown>;
    const n = (key: string): number => (Array.isArray(raw[key]) ? (raw[key] as unknown[]).length : 0);
    return { ...s, counts: { updates: n('updates'), decisions: n('decisions'), blockers: n('blockers'), entities: n('entities') } };
}

export class MspView implements vscode.Disposable {
    readonly model = new TreeModel();
    private readonly nodes = new Interned();
    readonly sessionTree = new SessionTree(this, this.nodes);
    readonly historyTree = new HistoryTree(this, this.nodes);
    /** Team: asked when shown and on its Refresh button, never on a notification (teamView.ts). */
    readonly teamTree: TeamTree;
    private sessionView: vscode.TreeView<Node> | undefined;
    private historyView: vscode.TreeView<Node> | undefined;
    private readonly disposables: vscode.Disposable[] = [];
    /** Each folder's read in progress, so notifications in a burst wait for one answer. */
    private readonly reading = new Map<string, Promise<void>>();

    constructor(
        private readonly server: ViewServer,
        private readonly now: () => Date = () => new Date(),
    ) {
        this.teamTree = new TeamTree(server, now);
    }

    /** Create the three tree views (not in unit tests, which call the providers directly). */
    register(): vscode.Disposable[] {
        this.sessionView = vscode.window.createTreeView(SESSION_VIEW, { treeDataProvider: this.sessionTree, showCollapseAll: true });
        this.historyView = vscode.window.createTreeView(HISTORY_VIEW, { treeDataProvider: this.historyTree });
        this.disposables.push(this.sessionView, this.historyView, ...this.teamTree.register());
        return [this];
    }

    treeItem(node: Node): vscode.TreeItem {
        const multiRoot = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
        const view = describe(this.model, node, this.now(), multiRoot);
        const item = treeItemOf(view, nodeId(node), true);
        item.command = this.clickCommand(node);
        return item;
    }

    /** Entities open at their line, a file capture could not parse at its top; payloads open read-only. */
    private clickCommand(node: Node): vscode.Command | undefined {
        if (node.kind === 'problem' && safeRelative(node.path)) {
            return { title: 'Open File', command: 'vscode.open', arguments: [vscode.Uri.joinPath(vscode.Uri.parse(node.folderUri), node.path)] };
        }
        if (node.kind === 'entity' && node.record.path && safeRelative(node.record.path)) {
            const uri = vscode.Uri.joinPath(vscode.Uri.parse(node.folderUri), node.record.path);
            const line = Math.max(0, (node.record.line ?? 1) - 1);
            return {
                title: 'Go to Definition',
                command: 'vscode.open',
                arguments: [uri, { selection: new vscode.Range(line, 0, line, 0), preview: true }],
            };
        }
        if (node.kind === 'payload') {
            return { title: 'Open Payload', command: 'msp.openPayloadItem', arguments: [node] };
        }
        return undefined;
    }

    // -- notifications -----------------------------------------------------------------------

    sessionChanged(raw: unknown): Promise<void> {
        const change = parseSessionChanged(raw);
        if (!change) {
            return Promise.resolve();
        }
        const folderUri = folderUriOf(change.folderUri);
        return this.apply(folderUri, this.model.sessionChanged({ ...change, folderUri }));
    }

    entitiesCaptured(raw: unknown): Promise<void> {
        const p = (raw ?? {}) as { folderUri?: unknown; entities?: unknown };
        if (typeof p.folderUri !== 'string' || !Array.isArray(p.entities)) {
            return Promise.resolve();
        }
        const entities = p.entities.filter(
            (e): e is CapturedEntity => !!e && typeof e === 'object' && typeof (e as CapturedEntity).name === 'string',
        );
        const folderUri = folderUriOf(p.folderUri);
        return this.apply(folderUri, this.model.entitiesCaptured(folderUri, entities));
    }

    payloadsGenerated(raw: unknown): Promise<void> {
        const folder = (raw as { folderUri?: unknown } | undefined)?.folderUri;
        if (typeof folder !== 'string') {
            return Promise.resolve();
        }
        const folderUri = folderUriOf(folder);
        return this.apply(folderUri, this.model.payloadsGenerated(folderUri, payloadsFrom(raw)));
    }

    /** A command's answer (palette or code action): its record goes straight into the view. */
    recordWritten(folderUri: string, result: unknown): Promise<void> {
        const record = (result as { record?: unknown } | undefined)?.record;
        if (!record || typeof record !== 'object') {
            return Promise.resolve();
        }
        const uri = folderUriOf(folderUri);
        return this.apply(uri, this.model.recordWritten(uri, record as { kind?: unknown; id?: unknown }));
    }

    captureProblems(raw: unknown): Promise<void> {
        const { folderUri, problems, resolved } = parseCaptureProblems(raw);
        if (!folderUri) {
            return Promise.resolve();
        }
        const uri = folderUriOf(folderUri);
        return this.apply(uri, this.model.captureProblems(uri, problems, resolved));
    }

    syncStatus(raw: unknown): Promise<void> {
        const p = (raw ?? {}) as Record<string, unknown>;
        if (typeof p.folderUri !== 'string') {
            return Promise.resolve();
        }
        const folderUri = folderUriOf(p.folderUri);
        return this.apply(folderUri, this.model.syncStatus(folderUri, p));
    }

    /** Read what the refresh asks for, then fire only the nodes that changed. */
    private async apply(folderUri: string, refresh: Refresh): Promise<void> {
        const previous = this.reading.get(folderUri);
        const run = (async () => {
            await previous;
            if (refresh.historyStale) {
                this.model.dropHistory(folderUri);
                this.historyTree.fire(undefined);
            }
            if (refresh.readStatus) {
                await this.readStatus(folderUri);
            }
            if (refresh.readPayloads) {
                await this.readPayloads(folderUri);
            }
            for (const node of refresh.changed) {
                this.sessionTree.fire(node);
            }
        })();
        this.reading.set(folderUri, run);
        await run;
        if (this.reading.get(folderUri) === run) {
            this.reading.delete(folderUri);
        }
    }

    private async read<T>(verb: 'status' | 'listPayloads' | 'listSessions' | 'showSession', args: Record<string, unknown>): Promise<T | undefined> {
        try {
            return await this.server.execute<T>(verb, args);
        } catch (error) {
            log.warn(`MSP view: ${verb} failed: ${error instanceof Error ? error.message : String(error)}`);
            return undefined;
        }
    }

    async readStatus(folderUri: string): Promise<void> {
        const status = await this.read<StatusResult>('status', { folderUri });
        if (status) {
            this.model.setDetail(folderUri, status.session);
        }
    }

    async readPayloads(folderUri: string): Promise<void> {
        const sessionId = this.model.session(folderUri)?.id;
        if (!sessionId) {
            return;
        }
        const listed = await this.read<unknown>('listPayloads', { folderUri, sessionId });
        if (listed !== undefined) {
            this.model.setPayloads(folderUri, payloadsFrom(listed));
        }
    }

    /** The active session's record and payloads, again. */
    private async readSession(folderUri: string): Promise<void> {
        await this.readStatus(folderUri);
        await this.readPayloads(folderUri);
    }

    /** A past session's whole record, when its History item is expanded. */
    async readPast(folderUri: string, session: string): Promise<void> {
        const shown = await this.read<{ session?: SessionDetail | null }>('showSession', { folderUri, session });
        if (shown?.session) {
            this.model.setPastDetail(folderUri, shown.session);
        }
    }

    async readHistory(folderUri: string): Promise<void> {
        const listed = await this.read<{ sessions?: PastSession[] }>('listSessions', { folderUri, limit: HISTORY_LIMIT });
        const sessions = (listed?.sessions ?? [])
            .filter((s): s is PastSession => !!s && typeof s.id === 'string' && typeof s.startTime === 'string')
            .map(withCounts);
        this.model.setHistory(folderUri, sessions);
    }

    /** Everything again (the Refresh button). */
    async refreshAll(): Promise<void> {
        for (const folderUri of this.model.folderUris()) {
            this.model.dropHistory(folderUri);
            if (this.model.session(folderUri)) {
                await this.readSession(folderUri);
            }
        }
        this.sessionTree.fire(undefined);
        this.historyTree.fire(undefined);
    }

    /**
     * msp.showInView: reveal the record `id` (upd-…, dec-…, blk-…, pay-…). A record the view
     * does not hold yet (the notification is on its way) is read once.
     */
    async showInView(id: string): Promise<boolean> {
        let node = this.model.find(id);
        if (!node) {
            for (const folderUri of this.model.folderUris().filter((f) => this.model.session(f))) {
                await this.readSession(folderUri);
            }
            this.sessionTree.fire(undefined);
            node = this.model.find(id);
        }
        if (!node) {
            return false;
        }
        await this.sessionView?.reveal(this.nodes.get(node), { select: true, focus: true, expand: true });
        return true;
    }

    dispose(): void {
        for (const d of this.disposables) {
            d.dispose();
        }
    }
}
