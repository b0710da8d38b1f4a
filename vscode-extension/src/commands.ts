/**
 * The palette commands (`msp.<verb>`): gather input with input boxes and quick picks, call one
 * `msp.server.<verb>` with one object argument, show the result. The status bar is not touched
 * here: the server's msp/sessionChanged updates it.
 */

import * as vscode from 'vscode';

import {
    buildArgs,
    checkCredentialName,
    checkProgress,
    checkRequired,
    Fields,
    parseList,
    parseProgress,
    relativePath,
} from './args';
import { CommandKey, COMMANDS, OwnCommandKey, paletteLabel } from './commandIds';
import { cliFailure, runCli } from './cli';
import { cliCommand } from './interpreter';
import { KNOWN_CREDENTIALS, setCredential } from './credentials';
import { chooseFolder } from './folders';
import { log } from './log';
import { MspView } from './mspView';
import { copyPayloads, Notifier, SHOW_LOG } from './notifications';
import { payloadLabel, payloadsFrom } from './payloads';
import { fillScmInput } from './scm';
import { FolderTrust, parseFolderTrust, trustDetail, trustUnsupported } from './trust';
import { isRpcError, mspErrorCode, NotAvailableError, ServerApi, ServerNotRunningError } from './serverApi';
import { StatusBar } from './statusBar';
import { elapsedSince } from './statusModel';
import { countsLine, Node, statusWords } from './treeModel';
import { copyDocument, saveDocumentAs, VirtualDocuments } from './virtualDocs';
import { ActionResult, ERROR_CODES, FlushReport, Payload, ServerVerb, StatusResult } from './wire';

export interface Services {
    server: ServerApi;
    statusBar: StatusBar;
    notifier: Notifier;
    docs: VirtualDocuments;
    view?: MspView;
}

const RESTART = 'Restart Server';

function ask(options: vscode.InputBoxOptions): Thenable<string | undefined> {
    return vscode.window.showInputBox({ ignoreFocusOut: true, ...options });
}

interface Choice<T> extends vscode.QuickPickItem {
    value: T;
}

async function choose<T>(title: string, items: Choice<T>[]): Promise<T | undefined> {
    const pick = await vscode.window.showQuickPick(items, { title, ignoreFocusOut: true });
    return pick?.value;
}

/** What the user sees when a server command fails: the server's own message, with a way on. */
export async function reportCommandError(error: unknown, title: string, services: Services): Promise<void> {
    if (error instanceof NotAvailableError) {
        const version = error.serverVersion ? `msp-server ${error.serverVersion}` : 'this msp-server';
        void vscode.window.showWarningMessage(
            `MSP: "${title}" is not available in this server version (${version} does not serve msp.server.${error.verb}). Update msp-server to use it.`,
        );
        return;
    }
    if (error instanceof ServerNotRunningError) {
        const choice = await vscode.window.showErrorMessage(
            'MSP: the language server is not running.',
            RESTART,
            SHOW_LOG,
        );
        if (choice === RESTART) {
            await services.server.restart();
        } else if (choice === SHOW_LOG) {
            log.show();
        }
        return;
    }
    if (isRpcError(error)) {
        const code = mspErrorCode(error);
        const message = `MSP: ${error.message}`;
        log.warn(`${title}: ${error.message} (code ${String(code ?? error.code)})`);
        if (code === ERROR_CODES.noActiveSession) {
            const crashed = services.statusBar.current()?.change?.state === 'crashed';
            await offerNext(crashed ? 'crashed' : 'idle');
            return;
        }
        if (code === ERROR_CODES.sessionAlreadyActive) {
            await offerRunningSession();
            return;
        }
        if (code === ERROR_CODES.usage) {
            void vscode.window.showWarningMessage(message);
            return;
        }
        const choice = await vscode.window.showErrorMessage(message, SHOW_LOG);
        if (choice === SHOW_LOG) {
            log.show();
        }
        return;
    }
    const text = error instanceof Error ? error.message : String(error);
    log.error(`${title}: ${text}`);
    const choice = await vscode.window.showErrorMessage(`MSP: ${title} failed: ${text}`, SHOW_LOG);
    if (choice === SHOW_LOG) {
        log.show();
    }
}

/** "A session is already running", with Show Status and End Session. */
async function offerRunningSession(): Promise<void> {
    const choice = await vscode.window.showWarningMessage(
        'MSP: a session is already running. End it first, or keep recording in it.',
        COMMANDS.showStatus.title,
        COMMANDS.endSession.title,
    );
    if (choice === COMMANDS.showStatus.title) {
        await vscode.commands.executeCommand(COMMANDS.showStatus.id);
    } else if (choice === COMMANDS.endSession.title) {
        await vscode.commands.executeCommand(COMMANDS.endSession.id);
    }
}

/** "Start a session first" (or recover the crashed one), with the button that does it. */
async function offerNext(state: 'idle' | 'crashed'): Promise<void> {
    if (state === 'crashed') {
        const choice = await vscode.window.showWarningMessage(
            'MSP: the last session was left open (crashed). Recover it or end it first.',
            COMMANDS.recoverSession.title,
            COMMANDS.endSession.title,
        );
        const next = choice === COMMANDS.recoverSession.title ? COMMANDS.recoverSession : choice ? COMMANDS.endSession : undefined;
        if (next) {
            await vscode.commands.executeCommand(next.id);
        }
        return;
    }
    const choice = await vscode.window.showWarningMessage('MSP: Start a session first.', COMMANDS.startSession.title);
    if (choice) {
        await vscode.commands.executeCommand(COMMANDS.startSession.id);
    }
}

export class Commands {
    constructor(private readonly s: Services) {}

    /** The server must run before anything is asked; false (and said so, once) when it does not. */
    private async serverUp(key: CommandKey): Promise<boolean> {
        if (this.s.server.state === 'running' || this.s.server.state === 'starting') {
            return true;
        }
        await reportCommandError(new ServerNotRunningError(), COMMANDS[key].title, this.s);
        return false;
    }

    /**
     * The folder of a command that records into the active session: checked (server, then
     * session) before the first prompt, so that no answer is collected and then dropped.
     */
    private async sessionFolder(key: CommandKey, allowCrashed = false): Promise<vscode.WorkspaceFolder | undefined> {
        if (!(await this.serverUp(key))) {
            return undefined;
        }
        const folder = await chooseFolder();
        if (!folder) {
            return undefined;
        }
        const state = this.s.statusBar.forFolder(folder.uri.toString())?.state;
        if (state === 'idle' || (state === 'crashed' && !allowCrashed)) {
            await offerNext(state);
            return undefined;
        }
        return folder;
    }

    /** Call `msp.server.<verb>` for a folder; errors are reported, and give undefined. */
    async call<T>(key: CommandKey, verb: ServerVerb, folder: vscode.WorkspaceFolder, fields: Fields = {}): Promise<T | undefined> {
        try {
            const result = await this.s.server.execute<T>(verb, buildArgs(folder.uri.toString(), fields));
            void this.s.view?.recordWritten(folder.uri.toString(), result);
            return result;
        } catch (error) {
            await reportCommandError(error, COMMANDS[key].title, this.s);
            return undefined;
        }
    }

    /** Refuse early, with the same message, when the server lacks a (planned) command. */
    private available(key: CommandKey, verb: ServerVerb): boolean {
        if (this.s.server.state === 'running' && !this.s.server.isAvailable(verb)) {
            void reportCommandError(new NotAvailableError(verb, this.s.server.version), COMMANDS[key].title, this.s);
            return false;
        }
        return true;
    }

    register(): vscode.Disposable[] {
        const table: Record<OwnCommandKey, (...args: unknown[]) => Promise<unknown>> = {
            startSession: () => this.startSession(),
            updateProgress: () => this.updateProgress(),
            recordDecision: () => this.recordDecision(),
            recordBlocker: () => this.recordBlocker(),
            resolveBlocker: () => this.resolveBlocker(),
            recordEntity: () => this.recordEntity(),
            endSession: () => this.endSession(),
            showStatus: () => this.showStatus(),
            exportContext: () => this.exportContext(),
            recoverSession: () => this.recoverSession(),
            showPayloads: () => this.showPayloads(),
            sendPayload: () => this.sendPayload(),
            flushOutbox: () => this.flushOutbox(),
            setCredential: () => this.setCredential(),
            trustFolderConfig: () => this.trustFolderConfig(),
            validateIntegrations: () => this.validateIntegrations(),
            generateCommitMessage: () => this.generateCommitMessage(),
            showLog: async () => log.show(),
            restartServer: () => this.s.server.restart(),
            sessionActions: () => this.sessionActions(),
            copyPayload: (arg?: unknown) => this.copyPayload(arg),
            showInView: (arg?: unknown) => this.showInView(arg),
            refreshView: async () => this.s.view?.refreshAll(),
            refreshTeam: async () => this.s.view?.teamTree.refresh(),
            resolveBlockerItem: (arg?: unknown) => this.resolveBlocker(nodeRecordId(arg, 'blocker')),
            copyPayloadItem: (arg?: unknown) => this.payloadItem(arg, 'copy'),
            openPayloadItem: (arg?: unknown) => this.payloadItem(arg, 'open'),
            sendPayloadItem: (arg?: unknown) => this.payloadItem(arg, 'send'),
            retryPayloadItem: (arg?: unknown) => this.payloadItem(arg, 'send'),
            copyDocument: (arg?: unknown) => copyDocument(this.s.docs, arg),
            saveDocumentAs: (arg?: unknown) => saveDocumentAs(this.s.docs, arg),
        };
        return (Object.keys(table) as OwnCommandKey[]).map((key) =>
            vscode.commands.registerCommand(COMMANDS[key].id, async (...args: unknown[]) => {
                try {
                    await table[key](...args);
                } catch (error) {
                    await reportCommandError(error, COMMANDS[key].title, this.s);
                }
            }),
        );
    }

    // -- session ---------------------------------------------------------------------------------

    async startSession(): Promise<void> {
        if (!(await this.serverUp('startSession'))) {
            return;
        }
        const folder = await chooseFolder('MSP: start a session in which folder?');
        if (!folder) {
            return;
        }
        const running = this.s.statusBar.forFolder(folder.uri.toString());
        if (running?.state === 'active' || running?.state === 'crashed') {
            log.warn(`${COMMANDS.startSession.title}: a session is already running`);
            await offerRunningSession();
            return;
        }
        const goal = await ask({
            title: paletteLabel('startSession'),
            prompt: 'Goal of this session (optional)',
            placeHolder: 'e.g. Password reset flow',
        });
        if (goal === undefined) {
            return;
        }
        const progress = await ask({
            title: paletteLabel('startSession'),
            prompt: 'Progress at the start, 0–100 (leave empty to continue from the last session)',
            validateInput: checkProgress,
        });
        if (progress === undefined) {
            return;
        }
        const result = await this.call<ActionResult>('startSession', 'startSession', folder, {
            goal,
            progress: parseProgress(progress),
        });
        if (result?.session) {
            this.s.notifier.confirm(`MSP: session ${result.session.id} started`);
        }
    }

    async updateProgress(): Promise<void> {
        const folder = await this.sessionFolder('updateProgress');
        if (!folder) {
            return;
        }
        const text = await ask({
            title: paletteLabel('updateProgress'),
            prompt: 'What did you do?',
            placeHolder: 'e.g. Wired the reset form',
            validateInput: checkRequired('The update'),
        });
        if (text === undefined) {
            return;
        }
        const now = this.s.statusBar.forFolder(folder.uri.toString())?.session?.progress;
        const progress = await ask({
            title: paletteLabel('updateProgress'),
            prompt: `Progress now, 0–100 (leave empty to keep ${now ?? 'it'}${now === undefined || now === null ? '' : '%'})`,
            validateInput: checkProgress,
        });
        if (progress === undefined) {
            return;
        }
        const result = await this.call<ActionResult>('updateProgress', 'update', folder, {
            text,
            progress: parseProgress(progress),
        });
        if (result) {
            this.s.notifier.confirm('MSP: update recorded');
        }
    }

    async recordDecision(): Promise<void> {
        const folder = await this.sessionFolder('recordDecision');
        if (!folder) {
            return;
        }
        const title = paletteLabel('recordDecision');
        const text = await ask({
            title,
            prompt: 'Decision',
            placeHolder: 'e.g. Use signed tokens for password reset',
            validateInput: checkRequired('The decision'),
        });
        if (text === undefined) {
            return;
        }
        const rationale = await ask({ title, prompt: 'Why? (rationale, optional)' });
        if (rationale === undefined) {
            return;
        }
        const alternatives = await ask({
            title,
            prompt: 'Alternatives you considered (optional; separate them with ;)',
            placeHolder: 'e.g. a tokens table; magic links',
        });
        if (alternatives === undefined) {
            return;
        }
        const impact = await choose(`${title}: impact`, [
            { label: 'medium', description: 'default', value: 'medium' },
            { label: 'high', value: 'high' },
            { label: 'low', value: 'low' },
        ]);
        if (impact === undefined) {
            return;
        }
        const result = await this.call<ActionResult>('recordDecision', 'decide', folder, {
            text,
            rationale,
            alternatives: parseList(alternatives),
            impact,
        });
        if (result) {
            this.s.notifier.confirm('MSP: decision recorded');
        }
    }

    async recordBlocker(): Promise<void> {
        const folder = await this.sessionFolder('recordBlocker');
        if (!folder) {
            return;
        }
        const title = paletteLabel('recordBlocker');
        const text = await ask({
            title,
            prompt: 'What blocks you?',
            placeHolder: 'e.g. SMTP sandbox is down',
            validateInput: checkRequired('The blocker'),
        });
        if (text === undefined) {
            return;
        }
        const category = await choose(`${title}: category`, [
            { label: 'technical', description: 'default', value: 'technical' },
            { label: 'external', description: 'another team, a vendor, a service', value: 'external' },
            { label: 'resource', description: 'time, people, access', value: 'resource' },
        ]);
        if (category === undefined) {
            return;
        }
        const severity = await choose(`${title}: severity`, [
            { label: 'medium', description: 'default', value: 'medium' },
            { label: 'high', value: 'high' },
            { label: 'low', value: 'low' },
        ]);
        if (severity === undefined) {
            return;
        }
        const result = await this.call<ActionResult>('recordBlocker', 'block', folder, { text, category, severity });
        if (result) {
            this.s.notifier.confirm('MSP: blocker recorded');
        }
    }

    /** From the palette (pick one), or a view item's inline Resolve (`given`: its id). */
    async resolveBlocker(given?: { folderUri: string; id: string }): Promise<void> {
        const folder = given
            ? vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(given.folderUri))
            : await this.sessionFolder('resolveBlocker');
        if (!folder) {
            return;
        }
        const title = paletteLabel('resolveBlocker');
        const blocker = given ? given.id : await this.pickOpenBlocker(folder);
        if (blocker === undefined) {
            return;
        }
        const solution = await ask({ title, prompt: 'How was it resolved? (optional)' });
        if (solution === undefined) {
            return;
        }
        const result = await this.call<ActionResult>('resolveBlocker', 'resolve', folder, { blocker, solution });
        if (result) {
            this.s.notifier.confirm('MSP: blocker resolved');
        }
    }

    private async pickOpenBlocker(folder: vscode.WorkspaceFolder): Promise<string | undefined> {
        const status = await this.call<StatusResult>('resolveBlocker', 'status', folder);
        if (!status) {
            return undefined;
        }
        const open = (status.session?.blockers ?? []).filter((b) => b.status === 'active');
        if (!open.length) {
            void vscode.window.showInformationMessage('MSP: there is no open blocker.');
            return undefined;
        }
        return choose(
            paletteLabel('resolveBlocker'),
            open.map((b) => ({
                label: b.description,
                description: [b.severity, b.category].filter(Boolean).join(' · '),
                detail: b.id,
                value: b.id,
            })),
        );
    }

    async recordEntity(): Promise<void> {
        const folder = await this.sessionFolder('recordEntity');
        if (!folder) {
            return;
        }
        const editor = vscode.window.activeTextEditor;
        const wordRange = editor?.document.getWordRangeAtPosition(editor.selection.active);
        const title = paletteLabel('recordEntity');
        const name = await ask({
            title,
            prompt: 'Entity name',
            value: wordRange ? editor?.document.getText(wordRange) : undefined,
            validateInput: checkRequired('The name'),
        });
        if (name === undefined) {
            return;
        }
        const types = ['class', 'function', 'method', 'interface', 'struct', 'enum', 'module', 'file', 'component', 'unknown'];
        const type = await choose(
            `${title}: type`,
            types.map((t) => ({ label: t, value: t })),
        );
        if (type === undefined) {
            return;
        }
        const fields: Fields = { name, type };
        const inFolder = editor && editor.document.uri.scheme === 'file' ? relativePath(folder.uri.fsPath, editor.document.uri.fsPath) : undefined;
        if (editor && inFolder) {
            fields.path = inFolder;
            fields.language = editor.document.languageId;
            fields.line = editor.selection.active.line + 1;
        }
        const result = await this.call<ActionResult>('recordEntity', 'recordEntity', folder, fields);
        if (result) {
            this.s.notifier.confirm(`MSP: entity ${name} recorded`);
        }
    }

    async endSession(): Promise<void> {
        const folder = await this.sessionFolder('endSession', true);
        if (!folder) {
            return;
        }
        const summary = await ask({
            title: paletteLabel('endSession'),
            prompt: 'Summary of the session (optional)',
            placeHolder: 'e.g. Reset flow works end to end',
        });
        if (summary === undefined) {
            return;
        }
        const result = await this.call<ActionResult>('endSession', 'endSession', folder, { summary });
        if (result) {
            this.s.notifier.confirm('MSP: session ended');
        }
    }

    async showStatus(): Promise<void> {
        if (!(await this.serverUp('showStatus'))) {
            return;
        }
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const status = await this.call<StatusResult>('showStatus', 'status', folder);
        if (!status) {
            return;
        }
        const s = status.session;
        type Row = vscode.QuickPickItem & { command?: string };
        const rows: Row[] = [];
        if (!s) {
            rows.push({ label: '$(circle-large-outline) No active session', description: folder.name });
        } else {
            const count = (list: unknown[] | undefined): number => list?.length ?? 0;
            const open = (s.blockers ?? []).filter((b) => b.status === 'active');
            rows.push(
                { label: `$(project) ${s.project}`, description: `${status.state} · ${s.id}` },
                { label: `$(target) ${s.goal ?? 'No goal set'}`, description: 'goal' },
                {
                    label: `$(graph) ${s.progress ?? s.startProgress ?? 0}%`,
                    description: `running ${elapsedSince(s.startTime, new Date()) ?? '?'}`,
                },
                {
                    label: `$(note) ${countsLine({
                        updates: count(s.updates),
                        decisions: count(s.decisions),
                        blockers: count(s.blockers),
                        entities: count(s.entities),
                    })}`,
                },
                ...open.map((b) => ({ label: `$(warning) ${b.description}`, description: `open blocker · ${b.id}` })),
            );
        }
        rows.push({ label: 'Actions', kind: vscode.QuickPickItemKind.Separator });
        for (const key of this.s.statusBar.nextActions()) {
            rows.push({ label: COMMANDS[key].title, command: COMMANDS[key].id });
        }
        const pick = await vscode.window.showQuickPick(rows, { title: `MSP status — ${folder.name}` });
        if (pick?.command) {
            await vscode.commands.executeCommand(pick.command);
        }
    }

    async exportContext(): Promise<void> {
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const format = await choose(paletteLabel('exportContext'), [
            { label: 'ai', description: 'a compact briefing for an assistant or the next session', value: 'ai' },
            { label: 'markdown', description: 'a report', value: 'markdown' },
            { label: 'json', description: 'the MSP JSON session format', value: 'json' },
        ]);
        if (format === undefined) {
            return;
        }
        const result = await this.call<{ format: string; content: string }>('exportContext', 'exportContext', folder, {
            format,
        });
        if (!result) {
            return;
        }
        // Read-only (msp:/context/…): nothing to save, no prompt on close; Copy and Save As
        // are in the editor's title bar.
        const name = `${folder.name}-${format}.${format === 'json' ? 'json' : 'md'}`;
        await this.s.docs.show(this.s.docs.put('context', name, result.content));
        this.s.notifier.confirm(`MSP: context exported (${format}) — Copy or Save As from the editor title`);
    }

    async recoverSession(): Promise<void> {
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const listed = await this.call<{ sessions: { id: string; project: string; status: string; goal?: string | null; progress?: number | null; startTime?: string }[] }>(
            'recoverSession',
            'listSessions',
            folder,
            { limit: 20 },
        );
        if (!listed) {
            return;
        }
        const rank = (status: string): number => (status === 'crashed' ? 0 : status === 'active' ? 1 : 2);
        const sessions = [...listed.sessions].sort((a, b) => rank(a.status) - rank(b.status));
        if (!sessions.length) {
            void vscode.window.showInformationMessage('MSP: there is no session to recover.');
            return;
        }
        const session = await choose(
            paletteLabel('recoverSession'),
            sessions.map((s) => ({
                label: s.id,
                description: `${s.project} · ${s.status}${s.progress === null || s.progress === undefined ? '' : ` · ${s.progress}%`}`,
                detail: s.goal ?? undefined,
                value: s,
            })),
        );
        if (!session) {
            return;
        }
        const force = session.status === 'completed';
        if (force) {
            const reopen = 'Reopen';
            const ok = await vscode.window.showWarningMessage(
                `MSP: session ${session.id} was ended. Reopen it?`,
                { modal: true },
                reopen,
            );
            if (ok !== reopen) {
                return;
            }
        }
        const result = await this.call<ActionResult>('recoverSession', 'recover', folder, {
            session: session.id,
            force: force || undefined,
        });
        if (result) {
            this.s.notifier.confirm(`MSP: session ${session.id} recovered`);
        }
    }

    // -- integrations (served by newer msp-server versions) --------------------------------------

    private async pickPayload(key: CommandKey, folder: vscode.WorkspaceFolder, filter?: (p: Payload) => boolean): Promise<Payload | undefined> {
        const result = await this.call<unknown>(key, 'listPayloads', folder);
        if (result === undefined) {
            return undefined;
        }
        const payloads = payloadsFrom(result).filter(filter ?? (() => true));
        if (!payloads.length) {
            void vscode.window.showInformationMessage('MSP: no payloads.');
            return undefined;
        }
        return choose(
            paletteLabel(key),
            payloads.map((p) => ({
                label: payloadLabel(p),
                description: statusWords(p.status ?? 'generated'),
                detail: p.id,
                value: p,
            })),
        );
    }

    async showPayloads(): Promise<void> {
        if (!this.available('showPayloads', 'listPayloads')) {
            return;
        }
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const payload = await this.pickPayload('showPayloads', folder);
        if (!payload) {
            return;
        }
        // Read-only (msp:/payload/pay-….cypher): Copy and Save As are in the editor title.
        await this.s.docs.showPayloads([payload]);
        if (payload.status === 'generated' || payload.status === 'dead') {
            const choice = await vscode.window.showInformationMessage(`MSP: ${payloadLabel(payload)}`, 'Send');
            if (choice === 'Send') {
                await this.sendPayloads(folder.uri.toString(), [payload]);
            }
        }
    }

    async sendPayload(): Promise<void> {
        if (!this.available('sendPayload', 'sendPayload') || !this.available('sendPayload', 'listPayloads')) {
            return;
        }
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const payload = await this.pickPayload('sendPayload', folder, (p) => p.status !== 'sent');
        if (payload) {
            await this.sendPayloads(folder.uri.toString(), [payload]);
        }
    }

    /** Used by the payload notification's Send action too. */
    async sendPayloads(folderUri: string, payloads: Payload[]): Promise<void> {
        const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(folderUri));
        if (!folder || !this.available('sendPayload', 'sendPayload')) {
            return;
        }
        for (const payload of payloads) {
            const result = await this.call<Payload>('sendPayload', 'sendPayload', folder, { id: payload.id });
            if (result === undefined) {
                return;
            }
            const status = result.status ?? 'unknown';
            const lastError = typeof result.lastError === 'string' ? result.lastError : undefined;
            const what = payloadLabel(payload);
            if (status === 'sent') {
                this.s.notifier.confirm(`MSP: sent — ${what}`);
            } else if (status === 'dead') {
                void vscode.window.showErrorMessage(`MSP: could not deliver ${what}${lastError ? `: ${lastError}` : ''}.`);
            } else {
                void vscode.window.showWarningMessage(
                    `MSP: ${what} is not sent yet${lastError ? ` (${lastError})` : ''}; MSP retries it by itself.`,
                );
            }
        }
    }

    /** `msp.copyPayload` {folderUri, id} from a code action; from the palette, pick one. */
    async copyPayload(arg?: unknown): Promise<void> {
        const given = (arg ?? {}) as { folderUri?: unknown; id?: unknown };
        const folder =
            typeof given.folderUri === 'string'
                ? vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(given.folderUri))
                : await chooseFolder();
        if (!folder || !this.available('copyPayload', 'listPayloads')) {
            return;
        }
        let payload: Payload | undefined;
        if (typeof given.id === 'string') {
            const listed = await this.call<unknown>('copyPayload', 'listPayloads', folder);
            if (listed === undefined) {
                return;
            }
            payload = payloadsFrom(listed).find((p) => p.id === given.id);
            if (!payload) {
                void vscode.window.showWarningMessage(`MSP: payload ${given.id} was not found.`);
                return;
            }
        } else {
            payload = await this.pickPayload('copyPayload', folder);
        }
        if (payload) {
            await copyPayloads([payload]);
        }
    }

    async flushOutbox(): Promise<void> {
        if (!this.available('flushOutbox', 'flushOutbox')) {
            return;
        }
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const report = await this.call<FlushReport>('flushOutbox', 'flushOutbox', folder);
        if (report === undefined) {
            return;
        }
        const text = flushMessage(report);
        log.info(text);
        const problems = Object.entries({ ...report.errors, ...report.blocked });
        for (const [target, why] of problems) {
            log.warn(`outbox: ${target}: ${why}`);
        }
        const show = problems.length || report.dead?.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
        const choice = await show(text, ...(problems.length ? [SHOW_LOG] : []));
        if (choice === SHOW_LOG) {
            log.show();
        }
    }

    async validateIntegrations(): Promise<void> {
        if (!this.available('validateIntegrations', 'validateIntegrations')) {
            return;
        }
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const result = await this.call<unknown>('validateIntegrations', 'validateIntegrations', folder);
        if (result === undefined) {
            return;
        }
        const reports = integrationReports(result);
        const lines = reports.map((r) => {
            const state = !r.enabled ? 'disabled' : r.valid ? 'ok' : 'ERROR';
            return `${r.name}: ${state}${r.delivery ? ` (delivery ${r.delivery})` : ''}${r.error ? ` — ${r.error}` : ''}`;
        });
        log.info(`integrations of ${folder.name}:\n  ${lines.join('\n  ') || 'none configured'}`);
        const broken = reports.filter((r) => r.enabled && !r.valid);
        const text = reports.length
            ? `MSP: ${reports.length} integration${reports.length === 1 ? '' : 's'} — ${lines.join('; ')}`
            : 'MSP: no integrations are configured (.msp/config.json "integrations").';
        const show = broken.length ? vscode.window.showErrorMessage : vscode.window.showInformationMessage;
        const choice = await show(text, SHOW_LOG);
        if (choice === SHOW_LOG) {
            log.show();
        }
    }

    async setCredential(): Promise<void> {
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const title = paletteLabel('setCredential');
        // The built-in integrations' names (validateIntegrations would tell more, but it runs
        // every adapter's initialize hook: too much for a prompt).
        const known = new Set(KNOWN_CREDENTIALS);
        const other = '\u0000other';
        let name = await choose(title, [
            ...[...known].sort().map((n) => ({ label: n, value: n })),
            { label: 'Other…', description: 'type a credential name', value: other },
        ]);
        if (name === other) {
            name = await ask({ title, prompt: 'Credential name', validateInput: checkCredentialName });
        }
        if (!name) {
            return;
        }
        const secret = await vscode.window.showInputBox({
            title,
            prompt: `Secret for ${name} (stored in the OS keyring by \`msp credentials set\`; never sent to the language server)`,
            password: true,
            ignoreFocusOut: true,
            validateInput: checkRequired('The secret'),
        });
        if (!secret) {
            return;
        }
        const cli = cliCommand(this.s.server.serverLaunch);
        const result = await setCredential(cli, name, secret, {
            cwd: this.s.server.launchCwd(),
            workspace: folder.uri.fsPath,
        });
        if (result.ok) {
            log.info(`credential ${name} stored`);
            void vscode.window.showInformationMessage(`MSP: credential ${name} stored in the OS keyring.`);
        } else if (result.unsupported) {
            void vscode.window.showWarningMessage(
                `MSP: "Set Credential" is not available in this server version (\`msp credentials\` is missing). Update msp-server to use it.`,
            );
        } else {
            log.error(`credentials set ${name}: ${result.message}`);
            const choice = await vscode.window.showErrorMessage(`MSP: could not store ${name}: ${result.message}`, SHOW_LOG);
            if (choice === SHOW_LOG) {
                log.show();
            }
        }
    }

    // -- trust -----------------------------------------------------------------------------------

    /**
     * `msp --workspace DIR trust --show --json`, or `trust --sha256 HEX --json` (trust only the
     * exact content that was shown), outside the folder; errors are shown.
     */
    private async folderTrust(folder: vscode.WorkspaceFolder, shownSha256?: string): Promise<FolderTrust | undefined> {
        const cli = cliCommand(this.s.server.serverLaunch);
        const mode = shownSha256 === undefined ? ['--show'] : ['--sha256', shownSha256];
        const args = ['--workspace', folder.uri.fsPath, 'trust', ...mode, '--json'];
        const run = await runCli(cli, args, { cwd: this.s.server.launchCwd() });
        const parsed = run.code === 0 ? parseFolderTrust(run.stdout) : undefined;
        if (parsed) {
            return parsed;
        }
        if (run.code !== 0 && /changed since it was shown/.test(run.stderr)) {
            log.warn(`trust ${folder.name}: the config changed while the dialog was open; nothing trusted`);
            void vscode.window.showErrorMessage(
                `MSP: the configuration of ${folder.name} changed while you were deciding; nothing was trusted. Run the command again to see the new content.`,
            );
            return undefined;
        }
        if (trustUnsupported(run)) {
            void vscode.window.showWarningMessage(
                'MSP: "Trust Folder Configuration" is not available in this server version (`msp trust` is missing). Update msp-server to use it.',
            );
            return undefined;
        }
        const why = run.code === 0 ? 'unexpected output from `msp trust`' : cliFailure(run);
        log.error(`trust ${folder.name}: ${why}`);
        const choice = await vscode.window.showErrorMessage(`MSP: could not read the trust of ${folder.name}: ${why}`, SHOW_LOG);
        if (choice === SHOW_LOG) {
            log.show();
        }
        return undefined;
    }

    /**
     * Show exactly what the folder's `.msp/config.json` would enable, and trust that file only
     * on an explicit "Trust" in a modal; then the running server picks it up (msp/trustChanged).
     */
    async trustFolderConfig(): Promise<void> {
        if (!vscode.workspace.isTrusted) {
            const manage = 'Manage Workspace Trust';
            const choice = await vscode.window.showWarningMessage(
                'MSP: this window is in Restricted Mode. Trust the workspace first; then its MSP folder configuration can be trusted.',
                manage,
            );
            if (choice === manage) {
                await vscode.commands.executeCommand('workbench.trust.manage');
            }
            return;
        }
        const folder = await chooseFolder('MSP: trust the configuration of which folder?');
        if (!folder) {
            return;
        }
        const shown = await this.folderTrust(folder);
        if (!shown) {
            return;
        }
        if (!shown.exists) {
            void vscode.window.showInformationMessage(`MSP: ${folder.name} has no .msp/config.json: there is nothing to trust.`);
            return;
        }
        if (!shown.needsTrust.length) {
            void vscode.window.showInformationMessage(
                `MSP: the configuration of ${folder.name} sets nothing that needs trust: there is nothing to trust.`,
            );
            return;
        }
        if (shown.trusted) {
            void vscode.window.showInformationMessage(`MSP: the configuration of ${folder.name} is already trusted.`);
            return;
        }
        const trust = 'Trust';
        const choice = await vscode.window.showWarningMessage(
            `MSP: trust the configuration of ${folder.name}?`,
            { modal: true, detail: trustDetail(shown) },
            trust,
        );
        if (choice !== trust) {
            return;
        }
        // Only the content that was shown: a file changed meanwhile is refused by the CLI.
        const trusted = await this.folderTrust(folder, shown.sha256 ?? '');
        if (!trusted) {
            return;
        }
        log.info(`trusted ${trusted.configPath} (sha256 ${trusted.sha256 ?? '?'}): ${shown.needsTrust.map((i) => i.key).join(', ')}`);
        await this.s.server.notifyTrustChanged();
        void vscode.window.showInformationMessage(`MSP: the configuration of ${folder.name} is trusted.`);
    }

    // -- git, menu ---------------------------------------------------------------------------

    async generateCommitMessage(): Promise<void> {
        const folder = await chooseFolder();
        if (!folder) {
            return;
        }
        const result = await this.call<{ message: string }>('generateCommitMessage', 'commitMessage', folder);
        if (!result) {
            return;
        }
        if (await fillScmInput(folder.uri, result.message)) {
            this.s.notifier.confirm('MSP: commit message written to Source Control');
            return;
        }
        const doc = await vscode.workspace.openTextDocument({ language: 'git-commit', content: result.message });
        await vscode.window.showTextDocument(doc, { preview: false });
        const copy = 'Copy to Clipboard';
        const choice = await vscode.window.showInformationMessage(
            'MSP: no git repository for this folder; the commit message is in the editor.',
            copy,
        );
        if (choice === copy) {
            await vscode.env.clipboard.writeText(result.message);
        }
    }

    /** msp.showInView: reveal a record (upd-…, dec-…, blk-…, pay-…) in the MSP view. */
    async showInView(arg: unknown): Promise<void> {
        const id = typeof arg === 'string' ? arg : (arg as { id?: unknown } | undefined)?.id;
        if (typeof id !== 'string' || !this.s.view) {
            return;
        }
        if (!(await this.s.view.showInView(id))) {
            void vscode.window.showInformationMessage(`MSP: that record is not in the active session any more.`);
        }
    }

    /** A payload item's inline action in the MSP view. */
    async payloadItem(arg: unknown, action: 'copy' | 'open' | 'send'): Promise<void> {
        const node = arg as Node | undefined;
        if (node?.kind !== 'payload') {
            return;
        }
        if (action === 'copy') {
            await copyPayloads([node.record]);
        } else if (action === 'open') {
            await this.s.docs.showPayloads([node.record]);
        } else {
            await this.sendPayloads(node.folderUri, [node.record]);
        }
    }

    /** The status bar's click: the session and its next actions (Show Status) when the server
     *  runs; otherwise what helps (restart, log). */
    async sessionActions(): Promise<void> {
        if (this.s.server.state === 'running') {
            await this.showStatus();
            return;
        }
        const items = this.s.statusBar.nextActions().map((key) => ({
            label: COMMANDS[key].title,
            command: COMMANDS[key].id,
        }));
        const pick = await vscode.window.showQuickPick(items, { title: 'MSP', placeHolder: 'What next?' });
        if (pick) {
            await vscode.commands.executeCommand(pick.command);
        }
    }
}

/** `{folderUri, id}` of a view item of `kind`, if it is one. */
function nodeRecordId(arg: unknown, kind: Node['kind']): { folderUri: string; id: string } | undefined {
    const node = arg as Node | undefined;
    return node && node.kind === kind && 'record' in node && typeof node.record.id === 'string'
        ? { folderUri: node.folderUri, id: node.record.id }
        : undefined;
}

/** "MSP: outbox flushed — 2 sent, 1 retrying, 0 dead; 3 left in the outbox." */
export function flushMessage(report: Partial<FlushReport>): string {
    const n = (list: unknown): number => (Array.isArray(list) ? list.length : 0);
    const left = typeof report.queuedLeft === 'number' ? report.queuedLeft : 0;
    const deadTotal = typeof report.deadTotal === 'number' ? report.deadTotal : 0;
    const blocked = Object.keys(report.blocked ?? {});
    return (
        `MSP: outbox flushed — ${n(report.sent)} sent, ${n(report.retrying)} retrying, ${n(report.dead)} dead` +
        `; ${left} left in the outbox${deadTotal ? `, ${deadTotal} undeliverable` : ''}` +
        `${blocked.length ? `; blocked: ${blocked.join(', ')}` : ''}.`
    );
}

interface IntegrationReport {
    name: string;
    enabled: boolean;
    valid: boolean;
    delivery?: string;
    error?: string | null;
    credentials: string[];
}

/** `validateIntegrations` as `msp integrations --json` shapes it: a list, or `{integrations}`. */
export function integrationReports(raw: unknown): IntegrationReport[] {
    const list = Array.isArray(raw)
        ? raw
        : raw && typeof raw === 'object' && Array.isArray((raw as { integrations?: unknown }).integrations)
          ? (raw as { integrations: unknown[] }).integrations
          : [];
    return list
        .filter((r): r is Record<string, unknown> => !!r && typeof r === 'object' && typeof (r as { name?: unknown }).name === 'string')
        .map((r) => ({
            name: r.name as string,
            enabled: r.enabled !== false,
            valid: r.valid !== false,
            delivery: typeof r.delivery === 'string' ? r.delivery : undefined,
            error: typeof r.error === 'string' ? r.error : null,
            credentials: Array.isArray(r.credentials) ? r.credentials.filter((c): c is string => typeof c === 'string') : [],
        }));
}
