/**
 * The MSP view's "Team" tree (msp.team): what teammates do in this project, from the server's
 * `team` command. It asks when the view is first shown or expanded, when it is shown again after
 * being hidden, and on its Refresh button — never on a notification: the answer may come from
 * the network (the server answers from its cache promptly when the graph is away, marked stale).
 * Stale answers and errors are said in the view's message; "no graph configured" leaves the
 * tree empty so that the view's welcome (package.json viewsWelcome, msp.teamGraph == none)
 * explains how to enable it.
 */

import * as vscode from 'vscode';

import { log } from './log';
import { safeRelative } from './paths';
import { isRpcError, mspErrorCode, NotAvailableError, ServerApi } from './serverApi';
import {
    describeTeam,
    parseTeamAnswer,
    teamBanner,
    teamChildren,
    TeamNode,
    teamNodeId,
    teammateNodes,
    TeamState,
} from './teamModel';
import { treeItemOf } from './treeItem';
import { ERROR_CODES } from './wire';

export const TEAM_VIEW = 'msp.team';
/** Context key: `none` when no folder has a team graph configured (the welcome shows). */
export const TEAM_GRAPH_KEY = 'msp.teamGraph';

type TeamServer = Pick<ServerApi, 'execute' | 'state'>;

/** The server's "enable the neo4j integration" refusal (service/team.py graph_target). */
export function isNoGraph(error: unknown): boolean {
    return (
        isRpcError(error) &&
        mspErrorCode(error) === ERROR_CODES.config &&
        /enable the neo4j integration/i.test(error.message)
    );
}

/** The Team tree; a teammate's path comes from a shared graph: opened only inside the folder. */
export class TeamTree implements vscode.TreeDataProvider<TeamNode>, vscode.Disposable {
    private readonly emitter = new vscode.EventEmitter<TeamNode | undefined>();
    readonly onDidChangeTreeData = this.emitter.event;
    private readonly states = new Map<string, TeamState>();
    private loaded = false;
    private loading: Promise<void> | undefined;
    private hidden = false;
    /** The view asked while the server was not running: ask once it runs. */
    private waiting = false;
    private graphKey: string | undefined;
    private view: vscode.TreeView<TeamNode> | undefined;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(
        private readonly server: TeamServer,
        private readonly now: () => Date = () => new Date(),
    ) {}

    register(): vscode.Disposable[] {
        const view = vscode.window.createTreeView(TEAM_VIEW, { treeDataProvider: this });
        this.view = view;
        this.disposables.push(
            view,
            view.onDidChangeVisibility((e) => this.visibilityChanged(e.visible)),
        );
        return [this];
    }

    /** Shown again after being hidden: ask again (the first showing asks through getChildren). */
    visibilityChanged(visible: boolean): void {
        if (!visible) {
            this.hidden = true;
            return;
        }
        if (this.hidden) {
            this.hidden = false;
            this.refresh();
        }
    }

    /** The Refresh button: ask again when the tree next reads its root (now, if shown). */
    refresh(): void {
        this.loaded = false;
        this.emitter.fire(undefined);
    }

    /** The server runs (again): answer a showing that came before it. */
    serverStarted(): void {
        if (this.waiting) {
            this.waiting = false;
            this.refresh();
        }
    }

    state(folderUri: string): TeamState | undefined {
        return this.states.get(folderUri);
    }

    getTreeItem(node: TeamNode): vscode.TreeItem {
        const item = treeItemOf(describeTeam(node, this.now()), teamNodeId(node));
        if (node.kind === 'teamOverlap' && node.record.path && safeRelative(node.record.path)) {
            const uri = vscode.Uri.joinPath(vscode.Uri.parse(node.folderUri), node.record.path);
            item.command = { title: 'Open File', command: 'vscode.open', arguments: [uri] };
            item.resourceUri = uri;
        }
        return item;
    }

    async getChildren(node?: TeamNode): Promise<TeamNode[]> {
        if (node) {
            return node.kind === 'teamFolder' ? teammateNodes(node.folderUri, this.states.get(node.folderUri)) : teamChildren(node);
        }
        if (!this.loaded) {
            await this.load();
        }
        const folders = vscode.workspace.workspaceFolders ?? [];
        if (folders.length === 1) {
            const folderUri = folders[0].uri.toString();
            return teammateNodes(folderUri, this.states.get(folderUri));
        }
        return folders
            .filter((f) => this.states.get(f.uri.toString())?.kind === 'answer')
            .map((f): TeamNode => ({ kind: 'teamFolder', folderUri: f.uri.toString(), name: f.name }));
    }

    /** Ask `team` for each folder (one read at a time: a burst of refreshes shares it). */
    load(): Promise<void> {
        this.loading ??= this.readAll().finally(() => (this.loading = undefined));
        return this.loading;
    }

    private async readAll(): Promise<void> {
        if (this.server.state !== 'running') {
            this.states.clear();
            this.waiting = true;
            this.show();
            return; // loaded stays false: the next showing asks again
        }
        const folders = vscode.workspace.workspaceFolders ?? [];
        this.states.clear();
        for (const folder of folders) {
            const folderUri = folder.uri.toString();
            this.states.set(folderUri, await this.ask(folderUri));
        }
        this.loaded = true;
        this.show();
    }

    private async ask(folderUri: string): Promise<TeamState> {
        try {
            const answer = parseTeamAnswer(await this.server.execute<unknown>('team', { folderUri }));
            return answer ? { kind: 'answer', answer } : { kind: 'error', message: 'the server sent no team answer' };
        } catch (error) {
            if (isNoGraph(error)) {
                return { kind: 'noGraph', message: (error as Error).message };
            }
            if (error instanceof NotAvailableError) {
                return { kind: 'error', message: 'this msp-server does not serve msp.server.team; update msp-server' };
            }
            const message = error instanceof Error ? error.message : String(error);
            log.warn(`MSP view: team failed: ${message}`);
            return { kind: 'error', message };
        }
    }

    /** The view's description/message and the welcome's context key, from the states. */
    private show(): void {
        const folders = vscode.workspace.workspaceFolders ?? [];
        const named = folders
            .map((f): [string, TeamState | undefined] => [f.name, this.states.get(f.uri.toString())])
            .filter((pair): pair is [string, TeamState] => !!pair[1]);
        const banner = teamBanner(named, this.now());
        if (this.view) {
            this.view.description = banner.description;
            this.view.message = banner.message;
        }
        const noGraph = named.length > 0 && named.every(([, s]) => s.kind === 'noGraph');
        const key = noGraph ? 'none' : named.length ? 'configured' : 'unknown';
        if (key !== this.graphKey) {
            this.graphKey = key;
            void vscode.commands.executeCommand('setContext', TEAM_GRAPH_KEY, key);
        }
    }

    dispose(): void {
        for (const d of this.disposables) {
            d.dispose();
        }
        this.emitter.dispose();
    }
}
