/**
 * The status bar item. Its data comes only from msp/sessionChanged and msp/syncStatus (kept per
 * folder); between notifications only the elapsed time moves, re-rendered locally each minute.
 */

import * as vscode from 'vscode';

import { COMMANDS } from './commandIds';
import { ContextKeys } from './contextKeys';
import { nextActions, parseSyncStatus, renderStatus, ServerState, StatusInput, SyncState } from './statusModel';
import { SESSION_STATES, SessionChanged } from './wire';

export function normalizeUri(uri: string): string {
    try {
        return vscode.Uri.parse(uri).toString();
    } catch {
        return uri;
    }
}

/** A well-formed msp/sessionChanged payload, or undefined. */
export function parseSessionChanged(raw: unknown): SessionChanged | undefined {
    if (!raw || typeof raw !== 'object') {
        return undefined;
    }
    const p = raw as Partial<SessionChanged>;
    if (typeof p.folderUri !== 'string' || !SESSION_STATES.includes(p.state as never)) {
        return undefined;
    }
    const s = p.session;
    if (s !== null && (typeof s !== 'object' || typeof s?.id !== 'string')) {
        return undefined;
    }
    return p as SessionChanged;
}

export interface ServerLike {
    readonly state: ServerState;
    readonly onDidChangeState: vscode.Event<ServerState>;
}

export class StatusBar implements vscode.Disposable {
    readonly item: vscode.StatusBarItem;
    private readonly sessions = new Map<string, SessionChanged>();
    private readonly syncs = new Map<string, SyncState>();
    private timer: ReturnType<typeof setTimeout> | undefined;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(
        private readonly server: ServerLike,
        private readonly now: () => Date = () => new Date(),
        private readonly keys: ContextKeys = new ContextKeys(),
    ) {
        this.item = vscode.window.createStatusBarItem('msp.status', vscode.StatusBarAlignment.Left, 100);
        this.item.name = 'MSP session';
        this.item.command = COMMANDS.sessionActions.id;
        this.disposables.push(
            this.item,
            server.onDidChangeState(() => this.render()),
            vscode.window.onDidChangeActiveTextEditor(() => this.render()),
            vscode.workspace.onDidChangeWorkspaceFolders(() => this.render()),
            vscode.workspace.onDidGrantWorkspaceTrust(() => this.render()),
        );
        this.render();
        this.item.show();
    }

    sessionChanged(raw: unknown): void {
        const change = parseSessionChanged(raw);
        if (!change) {
            return;
        }
        this.sessions.set(normalizeUri(change.folderUri), change);
        this.render();
    }

    syncStatus(raw: unknown): void {
        const { folderUri, sync } = parseSyncStatus(raw);
        const key = folderUri ? normalizeUri(folderUri) : (this.current()?.folderUri ?? '');
        this.syncs.set(key, sync);
        this.render();
    }

    /** The folder the status bar is about: the active editor's, else the only/first busy one. */
    current(): { folderUri: string; change?: SessionChanged; sync?: SyncState } | undefined {
        const folders = vscode.workspace.workspaceFolders ?? [];
        const editor = vscode.window.activeTextEditor;
        const active = editor ? vscode.workspace.getWorkspaceFolder(editor.document.uri) : undefined;
        const pick = (uri: string) => ({ folderUri: uri, change: this.sessions.get(uri), sync: this.syncs.get(uri) });
        if (active) {
            return pick(active.uri.toString());
        }
        if (folders.length === 1) {
            return pick(folders[0].uri.toString());
        }
        for (const folder of folders) {
            const state = this.sessions.get(folder.uri.toString())?.state;
            if (state === 'active' || state === 'crashed') {
                return pick(folder.uri.toString());
            }
        }
        return folders.length ? pick(folders[0].uri.toString()) : undefined;
    }

    /** The change last seen for a folder. */
    forFolder(folderUri: string): SessionChanged | undefined {
        return this.sessions.get(normalizeUri(folderUri));
    }

    input(): StatusInput {
        const current = this.current();
        const folders = vscode.workspace.workspaceFolders ?? [];
        const folder = current ? folders.find((f) => f.uri.toString() === current.folderUri) : undefined;
        return {
            server: this.server.state,
            change: current?.change,
            sync: current?.sync ?? this.syncs.get(''),
            folderName: folder?.name,
            multiRoot: folders.length > 1,
            restricted: !vscode.workspace.isTrusted,
        };
    }

    nextActions(): ReturnType<typeof nextActions> {
        return nextActions(this.input());
    }

    render(): void {
        const input = this.input();
        this.keys.update({ server: input.server, change: input.change });
        const view = renderStatus(input, this.now());
        this.item.text = view.text;
        this.item.accessibilityInformation = { label: view.label, role: 'button' };
        const tooltip = new vscode.MarkdownString(view.tooltip, true);
        tooltip.isTrusted = false;
        this.item.tooltip = tooltip;
        this.item.backgroundColor =
            view.background === 'none'
                ? undefined
                : new vscode.ThemeColor(
                      view.background === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground',
                  );
        this.scheduleTick(input);
    }

    /** Re-render when the elapsed time reaches its next whole minute (active sessions only). */
    private scheduleTick(input: StatusInput): void {
        if (this.timer !== undefined) {
            clearTimeout(this.timer);
            this.timer = undefined;
        }
        const start = input.change?.state === 'active' ? Date.parse(input.change.session?.startTime ?? '') : NaN;
        if (Number.isNaN(start)) {
            return;
        }
        const elapsed = Math.max(0, this.now().getTime() - start);
        const delay = 60_000 - (elapsed % 60_000) + 50;
        this.timer = setTimeout(() => this.render(), delay);
    }

    dispose(): void {
        if (this.timer !== undefined) {
            clearTimeout(this.timer);
        }
        for (const d of this.disposables) {
            d.dispose();
        }
    }
}
