/**
 * A small fake of the `vscode` module for unit tests under node's test runner. Importing this
 * file first makes `require('vscode')` return `vscode` below; `mock` scripts the user's answers
 * (input boxes, quick picks, message buttons) and records what the extension showed.
 */

import Module = require('node:module');
import * as path from 'node:path';

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
    private listeners: Listener<T>[] = [];
    event = (listener: Listener<T>): { dispose(): void } => {
        this.listeners.push(listener);
        return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
    };
    fire(e: T): void {
        for (const l of [...this.listeners]) {
            l(e);
        }
    }
    dispose(): void {
        this.listeners = [];
    }
}

export class Uri {
    private constructor(
        readonly scheme: string,
        readonly path: string,
    ) {}
    static parse(value: string): Uri {
        const m = /^([a-z][\w+.-]*):\/\/(.*)$/i.exec(value);
        if (!m) {
            throw new Error(`not a URI: ${value}`);
        }
        return new Uri(m[1].toLowerCase(), decodeURIComponent(m[2].replace(/^[^/]*/, '')));
    }
    static file(p: string): Uri {
        return new Uri('file', path.posix.resolve(p));
    }
    static from(parts: { scheme: string; path: string }): Uri {
        return new Uri(parts.scheme, parts.path);
    }
    static joinPath(base: Uri, ...segments: string[]): Uri {
        return new Uri(base.scheme, path.posix.join(base.path, ...segments));
    }
    get fsPath(): string {
        return this.path;
    }
    toString(): string {
        return `${this.scheme}://${encodeURI(this.path)}`;
    }
}

/** A tree view: its description and message as the extension set them; visibility to fire. */
export class FakeTreeView {
    description: string | undefined;
    message: string | undefined;
    readonly visibility = new EventEmitter<{ visible: boolean }>();
    readonly onDidChangeVisibility = this.visibility.event;
    reveal(): Promise<void> {
        return Promise.resolve();
    }
    dispose(): void {
        this.visibility.dispose();
    }
}

export class ThemeIcon {
    constructor(readonly id: string) {}
}

export enum TreeItemCollapsibleState {
    None = 0,
    Collapsed = 1,
    Expanded = 2,
}

export class TreeItem {
    id?: string;
    description?: string;
    tooltip?: unknown;
    iconPath?: unknown;
    contextValue?: string;
    resourceUri?: unknown;
    command?: { title: string; command: string; arguments?: unknown[] };
    constructor(
        readonly label: string,
        readonly collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
    ) {}
}

export class Range {
    constructor(
        readonly startLine: number,
        readonly startCharacter: number,
        readonly endLine: number,
        readonly endCharacter: number,
    ) {}
}

export class ThemeColor {
    constructor(readonly id: string) {}
}

export class MarkdownString {
    isTrusted = false;
    constructor(
        readonly value = '',
        readonly supportThemeIcons = false,
    ) {}
}

export class Position {
    constructor(
        readonly line: number,
        readonly character: number,
    ) {}
}

export class McpStdioServerDefinition {
    cwd?: Uri;
    constructor(
        readonly label: string,
        public command: string,
        public args: string[] = [],
        public env: Record<string, string | number | null> = {},
        public version?: string,
    ) {}
}

export interface FakeMcpRegistration {
    id: string;
    provider: {
        provideMcpServerDefinitions(token?: unknown): unknown;
        resolveMcpServerDefinition?(server: unknown, token?: unknown): unknown;
        onDidChangeMcpServerDefinitions?: (l: Listener<void>) => { dispose(): void };
    };
    disposed: boolean;
}

export enum StatusBarAlignment {
    Left = 1,
    Right = 2,
}

export enum QuickPickItemKind {
    Separator = -1,
    Default = 0,
}

export interface FakeFolder {
    uri: Uri;
    name: string;
    index: number;
}

export interface FakeStatusBarItem {
    id: string;
    text: string;
    tooltip: unknown;
    command: unknown;
    name?: string;
    backgroundColor?: ThemeColor;
    accessibilityInformation?: { label: string; role?: string };
    visible: boolean;
    show(): void;
    hide(): void;
    dispose(): void;
}

type Answer = string | undefined | ((items: unknown[]) => unknown);

/** Scripted answers and recorded effects. */
export const mock = {
    folders: [] as FakeFolder[] | undefined,
    activeEditor: undefined as unknown,
    settings: {} as Record<string, unknown>,
    /** `inspect()` answers by full key ("msp.integrations"); unset keys fall back to `settings` as globalValue. */
    inspected: {} as Record<string, { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown }>,
    isTrusted: true,
    inputs: [] as Answer[],
    picks: [] as Answer[],
    buttons: [] as (string | undefined)[],
    shown: [] as { kind: 'info' | 'warning' | 'error'; message: string; actions: string[]; modal?: boolean; detail?: string }[],
    prompts: [] as Record<string, unknown>[],
    pickTitles: [] as (string | undefined)[],
    statusMessages: [] as string[],
    statusItems: [] as FakeStatusBarItem[],
    clipboard: '',
    documents: [] as { language?: string; content?: string; uri?: Uri }[],
    /** Text document content providers by scheme. */
    contentProviders: {} as Record<string, { provideTextDocumentContent(uri: Uri): string }>,
    /** What showSaveDialog answers, and files written through workspace.fs. */
    saveAs: undefined as Uri | undefined,
    written: {} as Record<string, string>,
    executed: [] as { command: string; args: unknown[] }[],
    extensions: {} as Record<string, unknown>,
    logLines: [] as string[],
    /** Providers registered with vscode.lm.registerMcpServerDefinitionProvider. */
    mcpProviders: [] as FakeMcpRegistration[],
    /** Tree views made with window.createTreeView, by id. */
    treeViews: {} as Record<string, FakeTreeView>,
    activeEditorEmitter: new EventEmitter<unknown>(),
    foldersEmitter: new EventEmitter<unknown>(),
    trustEmitter: new EventEmitter<void>(),

    reset(): void {
        this.folders = [];
        this.inspected = {};
        this.isTrusted = true;
        this.activeEditor = undefined;
        this.settings = {};
        this.inputs = [];
        this.picks = [];
        this.buttons = [];
        this.shown = [];
        this.prompts = [];
        this.pickTitles = [];
        this.statusMessages = [];
        this.statusItems = [];
        this.clipboard = '';
        this.documents = [];
        this.contentProviders = {};
        this.saveAs = undefined;
        this.written = {};
        this.executed = [];
        this.extensions = {};
        this.logLines = [];
        this.mcpProviders = [];
        this.treeViews = {};
    },

    setFolders(...paths: string[]): FakeFolder[] {
        this.folders = paths.map((p, index) => ({ uri: Uri.file(p), name: path.basename(p), index }));
        return this.folders;
    },

    editorFor(file: string, line = 0, languageId = 'python'): void {
        const uri = Uri.file(file);
        this.activeEditor = {
            document: {
                uri,
                languageId,
                getWordRangeAtPosition: () => undefined,
                getText: () => '',
            },
            selection: { active: new Position(line, 0) },
        };
    },
};

function message(kind: 'info' | 'warning' | 'error') {
    return (text: string, ...rest: unknown[]): Promise<string | undefined> => {
        const actions = rest.filter((r): r is string => typeof r === 'string');
        const options = rest.find((r): r is { modal?: boolean; detail?: string } => !!r && typeof r === 'object');
        mock.shown.push({ kind, message: text, actions, ...(options ? { modal: options.modal, detail: options.detail } : {}) });
        const answer = mock.buttons.shift();
        return Promise.resolve(answer !== undefined && actions.includes(answer) ? answer : undefined);
    };
}

function folderOf(uri: Uri): FakeFolder | undefined {
    return (mock.folders ?? [])
        .filter((f) => uri.fsPath === f.uri.fsPath || uri.fsPath.startsWith(`${f.uri.fsPath}/`))
        .sort((a, b) => b.uri.fsPath.length - a.uri.fsPath.length)[0];
}

export const vscode = {
    Uri,
    EventEmitter,
    ThemeColor,
    ThemeIcon,
    TreeItem,
    TreeItemCollapsibleState,
    Range,
    MarkdownString,
    Position,
    StatusBarAlignment,
    QuickPickItemKind,
    McpStdioServerDefinition,
    lm: {
        registerMcpServerDefinitionProvider(id: string, provider: FakeMcpRegistration['provider']): { dispose(): void } {
            const registration: FakeMcpRegistration = { id, provider, disposed: false };
            mock.mcpProviders.push(registration);
            return { dispose: () => (registration.disposed = true) };
        },
    },
    window: {
        get activeTextEditor(): unknown {
            return mock.activeEditor;
        },
        onDidChangeActiveTextEditor: (l: Listener<unknown>) => mock.activeEditorEmitter.event(l),
        createStatusBarItem(id: string): FakeStatusBarItem {
            const item: FakeStatusBarItem = {
                id,
                text: '',
                tooltip: undefined,
                command: undefined,
                visible: false,
                show() {
                    this.visible = true;
                },
                hide() {
                    this.visible = false;
                },
                dispose() {
                    this.visible = false;
                },
            };
            mock.statusItems.push(item);
            return item;
        },
        showInformationMessage: message('info'),
        showWarningMessage: message('warning'),
        showErrorMessage: message('error'),
        showInputBox(options: Record<string, unknown>): Promise<string | undefined> {
            mock.prompts.push(options);
            const answer = mock.inputs.shift();
            const value = typeof answer === 'function' ? (answer([]) as string | undefined) : answer;
            const validate = options.validateInput as ((v: string) => string | undefined) | undefined;
            if (value !== undefined && validate?.(value)) {
                throw new Error(`input ${JSON.stringify(value)} rejected: ${validate(value)}`);
            }
            return Promise.resolve(value);
        },
        showQuickPick(items: { label: string }[], options?: { title?: string }): Promise<unknown> {
            mock.pickTitles.push(options?.title);
            const answer = mock.picks.shift();
            if (typeof answer === 'function') {
                return Promise.resolve(answer(items));
            }
            return Promise.resolve(items.find((i) => i.label === answer));
        },
        setStatusBarMessage(text: string): { dispose(): void } {
            mock.statusMessages.push(text);
            return { dispose: () => undefined };
        },
        createOutputChannel(): unknown {
            const line = (level: string) => (m: string) => mock.logLines.push(`${level} ${m}`);
            return {
                info: line('info'),
                warn: line('warn'),
                error: line('error'),
                trace: line('trace'),
                debug: line('debug'),
                appendLine: line('line'),
                append: line('line'),
                show: () => undefined,
                dispose: () => undefined,
            };
        },
        showTextDocument: (doc: unknown) => Promise.resolve(doc),
        showSaveDialog: () => Promise.resolve(mock.saveAs),
        createTreeView: (id: string): FakeTreeView => (mock.treeViews[id] = new FakeTreeView()),
    },
    workspace: {
        get workspaceFolders(): FakeFolder[] | undefined {
            return mock.folders;
        },
        getWorkspaceFolder: (uri: Uri) => folderOf(uri),
        onDidChangeWorkspaceFolders: (l: Listener<unknown>) => mock.foldersEmitter.event(l),
        onDidGrantWorkspaceTrust: (l: Listener<void>) => mock.trustEmitter.event(l),
        get isTrusted(): boolean {
            return mock.isTrusted;
        },
        getConfiguration(section?: string) {
            return {
                get<T>(key: string, fallback?: T): T | undefined {
                    const full = section ? `${section}.${key}` : key;
                    return full in mock.settings ? (mock.settings[full] as T) : fallback;
                },
                inspect(key: string): unknown {
                    const full = section ? `${section}.${key}` : key;
                    if (full in mock.inspected) {
                        return { key: full, ...mock.inspected[full] };
                    }
                    return { key: full, globalValue: mock.settings[full] };
                },
            };
        },
        openTextDocument(options: { language?: string; content?: string } | Uri): Promise<unknown> {
            if (options instanceof Uri) {
                const provider = mock.contentProviders[options.scheme];
                const doc = { uri: options, content: provider?.provideTextDocumentContent(options) };
                mock.documents.push(doc);
                return Promise.resolve(doc);
            }
            mock.documents.push(options);
            return Promise.resolve(options);
        },
        registerTextDocumentContentProvider(scheme: string, provider: { provideTextDocumentContent(uri: Uri): string }) {
            mock.contentProviders[scheme] = provider;
            return { dispose: () => delete mock.contentProviders[scheme] };
        },
        fs: {
            writeFile(uri: Uri, data: Uint8Array): Promise<void> {
                mock.written[uri.fsPath] = new TextDecoder().decode(data);
                return Promise.resolve();
            },
        },
    },
    env: {
        clipboard: {
            writeText(text: string): Promise<void> {
                mock.clipboard = text;
                return Promise.resolve();
            },
        },
    },
    commands: {
        executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
            mock.executed.push({ command, args });
            return Promise.resolve(undefined);
        },
        registerCommand: () => ({ dispose: () => undefined }),
    },
    extensions: {
        getExtension: (id: string) => mock.extensions[id],
    },
};

// Serve the fake for every `require('vscode')` from here on.
const moduleWithLoad = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const originalLoad = moduleWithLoad._load;
moduleWithLoad._load = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? vscode : originalLoad.call(this, request, ...rest);
};
