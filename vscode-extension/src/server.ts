/**
 * The msp-server process and its language client: launch (see interpreter.ts), one clear
 * message when it cannot start, restarts, and calls to `msp.server.*` commands.
 */

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
    CloseAction,
    ErrorAction,
    ExecuteCommandRequest,
    LanguageClient,
    LanguageClientOptions,
    ResponseError,
    RevealOutputChannelOn,
    ServerOptions,
    State,
} from 'vscode-languageclient/node';
import type { ConfigurationParams } from 'vscode-languageclient/node';

import { COMMANDS } from './commandIds';
import { lastErrorLine } from './crash';
import {
    BundledLibs,
    checkLaunch,
    childEnv,
    Failure,
    findBundledLibs,
    insideFolders,
    launchDirectory,
    resolveServerLaunch,
    ServerLaunch,
    which,
} from './interpreter';
import { log, logChannel } from './log';
import { McpLaunchSource } from './mcp';
import { onDidChangePythonInterpreter, pythonFromExtension } from './pythonExtension';
import { showNoPython } from './pythonSetup';
import { explicitlySet, settingsForServer, userSettingsOnly } from './settings';
import { NotAvailableError, ServerApi, ServerNotRunningError } from './serverApi';
import { ServerState } from './statusModel';
import { COMMAND_PREFIX, NOTIFICATIONS, ServerVerb, serverCommandId, SETTINGS_SECTION, TrustChanged } from './wire';

export const CLIENT_ID = 'msp';
const SHOW_LOG = 'Show log';
const COPY_INSTALL = 'Copy install command';
const RESTART_WINDOW_MS = 3 * 60_000;
const MAX_RESTARTS = 3;
const STDERR_TAIL_LINES = 20;
/** The extension's folder: dist/extension.js is the bundle esbuild makes of src/. */
const EXTENSION_ROOT = path.resolve(__dirname, '..');

/** publisher.name, as package.json says. */
function extensionId(): string {
    try {
        const manifest = JSON.parse(readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8')) as { publisher?: string; name?: string };
        return `${manifest.publisher ?? ''}.${manifest.name ?? ''}`;
    } catch {
        return '';
    }
}

export interface NotificationHandlers {
    sessionChanged(params: unknown): void;
    entitiesCaptured(params: unknown): void;
    payloadsGenerated(params: unknown): void;
    syncStatus(params: unknown): void;
    /** Files capture could not parse (the server sends each once), and files that parse again. */
    captureProblems(params: unknown): void;
    /** A server command VS Code ran for a code action (not the palette's calls), and its answer. */
    codeActionRan?(command: string, args: unknown[], result: unknown): void;
}

export class MspServer implements ServerApi, McpLaunchSource, vscode.Disposable {
    private client: LanguageClient | undefined;
    private launch: ServerLaunch | undefined;
    private stateValue: ServerState = 'stopped';
    private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
    readonly onDidChangeState = this.stateEmitter.event;
    private ranLaunch: ServerLaunch | undefined;
    private readonly launchEmitter = new vscode.EventEmitter<void>();
    /** Fires when msp-server has run with a different launch (McpLaunchSource). */
    readonly onDidChangeMcpLaunch = this.launchEmitter.event;
    private restarts: number[] = [];
    private failureShown = false;
    private starting: Promise<void> | undefined;
    private stopping = false;
    private stderrTail: string[] = [];
    /** msp.server.command as the running server was started with it (JSON). */
    private launchedSetting: string | undefined;
    private bundleLogged: string | undefined;
    private interpreterWatch: Promise<vscode.Disposable | undefined> | undefined;

    /**
     * @param handlers the server's notifications
     * @param contributedSettings keys of the `msp` section package.json contributes ("capture.enabled")
     * @param storageDir the extension's global storage folder: the processes' working directory
     */
    constructor(
        private readonly handlers: NotificationHandlers,
        private readonly contributedSettings: readonly string[] = [],
        private readonly storageDir?: string,
    ) {}

    /** Working directory of the server, its probes and the CLI: outside every workspace folder. */
    launchCwd(): string {
        const folders = (vscode.workspace.workspaceFolders ?? [])
            .filter((f) => f.uri.scheme === 'file')
            .map((f) => f.uri.fsPath);
        if (this.storageDir) {
            try {
                mkdirSync(this.storageDir, { recursive: true });
            } catch (error) {
                log.warn(`cannot create ${this.storageDir}: ${error instanceof Error ? error.message : String(error)}`);
            }
        }
        return launchDirectory([this.storageDir, tmpdir(), homedir()], folders) ?? tmpdir();
    }

    get state(): ServerState {
        return this.stateValue;
    }

    get serverLaunch(): ServerLaunch | undefined {
        return this.launch;
    }

    /** The launch msp-server last ran with, kept across restarts: what `msp mcp` runs with. */
    get mcpLaunch(): ServerLaunch | undefined {
        return this.ranLaunch;
    }

    get version(): string | undefined {
        return this.client?.initializeResult?.serverInfo?.version;
    }

    private setState(state: ServerState): void {
        if (state !== this.stateValue) {
            this.stateValue = state;
            this.stateEmitter.fire(state);
        }
    }

    /** Server command ids the running server advertises (executeCommandProvider). */
    advertised(): string[] {
        return this.client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    }

    isAvailable(verb: ServerVerb): boolean {
        return this.advertised().includes(serverCommandId(verb));
    }

    start(): Promise<void> {
        if (!this.starting) {
            this.starting = this.doStart().finally(() => {
                this.starting = undefined;
            });
        }
        return this.starting;
    }

    /** msp.server.command as it applies now: the command is code, so in Restricted Mode only
     * the user's own setting may choose it. */
    private commandSetting(): unknown {
        const folder = vscode.workspace.workspaceFolders?.[0];
        const config = vscode.workspace.getConfiguration(SETTINGS_SECTION, folder?.uri);
        return vscode.workspace.isTrusted
            ? config.get<unknown>('server.command')
            : config.inspect<unknown>('server.command')?.globalValue;
    }

    /**
     * Restart when msp.server.command now resolves differently (a settings change, or trust
     * letting the workspace's value apply); true when it did. VS Code also reports restricted
     * settings as changed when trust is granted: an unchanged command must not restart.
     */
    async restartIfCommandChanged(): Promise<boolean> {
        const now = JSON.stringify(this.commandSetting() ?? null);
        if (this.launchedSetting === undefined || now === this.launchedSetting) {
            return false;
        }
        this.launchedSetting = now;
        await this.restart();
        return true;
    }

    /**
     * An interpreter found for the launch (the Python extension's, or one on PATH); in Restricted
     * Mode never one inside a workspace folder (a cloned `.venv/bin/python`, or a PATH that
     * leads into the folder, is the folder's code, not the user's).
     */
    private allowedInterpreter(python: string | undefined): string | undefined {
        if (!python || vscode.workspace.isTrusted) {
            return python;
        }
        const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
        if (insideFolders(python, folders)) {
            log.warn(`Restricted Mode: not using the interpreter ${python} (it is inside the workspace)`);
            return undefined;
        }
        return python;
    }

    /** The libraries of a platform-specific .vsix (logged once); undefined for the universal one. */
    private bundledLibs(): BundledLibs | undefined {
        const bundled = findBundledLibs(EXTENSION_ROOT);
        const line = bundled
            ? `bundled msp-server (${bundled.target ?? 'unknown target'}) for Python ${bundled.pythons.join(', ')}`
            : 'no bundled msp-server (universal package): the interpreter needs msp-server installed';
        if (line !== this.bundleLogged) {
            this.bundleLogged = line;
            log.info(line);
        }
        return bundled;
    }

    /**
     * Start again when the user selects another interpreter in the Python extension, unless
     * msp.server.command decides: e.g. after "no usable Python", selecting a 3.12 starts MSP.
     */
    private watchInterpreter(): void {
        if (this.interpreterWatch) {
            return;
        }
        this.interpreterWatch = onDidChangePythonInterpreter(() => {
            const setting = this.commandSetting();
            if (Array.isArray(setting) && setting.length > 0) {
                return;
            }
            log.info('the Python extension selected another interpreter: restarting msp-server');
            void this.restart();
        }).catch((error: unknown) => {
            log.warn(`cannot follow the Python extension's interpreter: ${error instanceof Error ? error.message : String(error)}`);
            return undefined;
        });
    }

    private async doStart(): Promise<void> {
        this.setState('starting');
        const folder = vscode.workspace.workspaceFolders?.[0];
        const setting = this.commandSetting();
        this.launchedSetting = JSON.stringify(setting ?? null);
        const bundled = this.bundledLibs();
        this.watchInterpreter();
        const resolution = await resolveServerLaunch({
            setting,
            pythonFromExtension: async () => this.allowedInterpreter(await pythonFromExtension(folder?.uri)),
            which: async (name) => this.allowedInterpreter(await which(name)),
            bundled,
        });
        if (!resolution.ok) {
            this.fail(resolution);
            return;
        }
        const launch: ServerLaunch = { ...resolution.launch, cwd: this.launchCwd() };
        this.launch = launch;
        const shown = [this.launch.command, ...this.launch.args].join(' ');
        const mode = vscode.workspace.isTrusted ? '' : ', Restricted Mode';
        log.info(`starting msp-server: ${shown} (from ${this.launch.source}, in ${this.launch.cwd}${mode})`);
        const check = await checkLaunch(this.launch);
        if (!check.ok) {
            this.fail(check);
            return;
        }
        const client = this.createClient(this.launch);
        this.client = client;
        try {
            await client.start();
        } catch (error) {
            if (this.client === client) {
                this.fail({
                    ok: false,
                    reason: `msp-server did not start: ${this.lastWords() ?? (error instanceof Error ? error.message : String(error))}`,
                    install: '',
                });
            }
            return;
        }
        const version = this.version ?? 'unknown version';
        log.info(`msp-server ${version} is running; it serves ${this.advertised().length} commands`);
        this.failureShown = false;
        this.setState('running');
        this.ran(launch);
    }

    /** Remember the launch that ran; a different one changes what `msp mcp` is started with. */
    private ran(launch: ServerLaunch): void {
        const key = (l: ServerLaunch | undefined) => JSON.stringify(l && [l.command, l.args, l.cwd]);
        if (key(launch) !== key(this.ranLaunch)) {
            this.ranLaunch = launch;
            this.launchEmitter.fire();
        }
    }

    private createClient(launch: ServerLaunch): LanguageClient {
        // Spawned here (not by the client) to keep the tail of stderr for the failure message;
        // the client still copies stderr into the log.
        const serverOptions: ServerOptions = async () => {
            this.stderrTail = [];
            const child = spawn(launch.command, launch.args, {
                cwd: launch.cwd,
                env: { ...childEnv(), PYTHONUNBUFFERED: '1' },
                stdio: 'pipe',
                windowsHide: true,
            });
            child.stderr.on('data', (data: Buffer) => {
                const lines = data.toString().split(/\r?\n/).filter((l) => l.trim());
                this.stderrTail = [...this.stderrTail, ...lines].slice(-STDERR_TAIL_LINES);
            });
            return child;
        };
        const clientOptions: LanguageClientOptions = {
            // Saved files of any language (entity capture) and code actions on marker lines.
            documentSelector: [{ scheme: 'file' }],
            synchronize: { configurationSection: SETTINGS_SECTION },
            // Read at each (re)start. `msp: {}` keeps an older server from taking the flag for a
            // setting (it reads the section from `msp` when that is an object).
            initializationOptions: () => ({ [SETTINGS_SECTION]: {}, workspaceTrusted: vscode.workspace.isTrusted }),
            outputChannel: logChannel(),
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            initializationFailedHandler: (error) => {
                const message = error instanceof ResponseError || error instanceof Error ? error.message : String(error);
                this.fail({ ok: false, reason: `msp-server failed to initialize: ${this.lastWords() ?? message}`, install: '' });
                return false;
            },
            errorHandler: {
                error: () => ({ action: ErrorAction.Continue, handled: true }),
                closed: () => this.onClosed(),
            },
            middleware: {
                // Code actions run `msp.server.*` through VS Code: their answer is seen here.
                executeCommand: async (command, args, next) => {
                    const result: unknown = await next(command, args);
                    this.handlers.codeActionRan?.(command, args, result);
                    return result;
                },
                workspace: {
                    configuration: async (params, token, next) => {
                        const result = await next(params, token);
                        return Array.isArray(result) ? result.map((value, i) => this.forServer(params, i, value)) : result;
                    },
                },
            },
        };
        const client = new LanguageClient(CLIENT_ID, 'MSP', serverOptions, clientOptions);
        client.onNotification(NOTIFICATIONS.sessionChanged, (p: unknown) => this.handlers.sessionChanged(p));
        client.onNotification(NOTIFICATIONS.entitiesCaptured, (p: unknown) => this.handlers.entitiesCaptured(p));
        client.onNotification(NOTIFICATIONS.payloadsGenerated, (p: unknown) => this.handlers.payloadsGenerated(p));
        client.onNotification(NOTIFICATIONS.syncStatus, (p: unknown) => this.handlers.syncStatus(p));
        client.onNotification(NOTIFICATIONS.captureProblems, (p: unknown) => this.handlers.captureProblems(p));
        client.onDidChangeState((e) => {
            if (e.newState === State.Running) {
                this.setState('running');
            } else if (e.newState === State.Starting) {
                this.setState('starting');
            }
        });
        return client;
    }

    /** The `msp` section of one workspace/configuration item, as the server should see it. */
    private forServer(params: ConfigurationParams, index: number, value: unknown): unknown {
        const item = params.items[index];
        if (item?.section !== SETTINGS_SECTION) {
            return value;
        }
        const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
        const config = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
        const settings = settingsForServer(value, this.contributedSettings, (key) => explicitlySet(config.inspect(key)));
        return vscode.workspace.isTrusted
            ? settings
            : userSettingsOnly(settings, (key) => config.inspect<unknown>(key)?.globalValue);
    }

    /**
     * Tell a running server that trust changed (the workspace was trusted, or a folder's config
     * was): it reads settings and trust again for every folder, no restart.
     */
    async notifyTrustChanged(): Promise<void> {
        const client = this.client;
        if (!client || this.stateValue !== 'running') {
            return;
        }
        const params: TrustChanged = { workspaceTrusted: vscode.workspace.isTrusted };
        await client.sendNotification(NOTIFICATIONS.trustChanged, params);
        log.info(`trust changed: told msp-server (workspace ${params.workspaceTrusted ? 'trusted' : 'restricted'})`);
    }

    private onClosed(): { action: CloseAction; handled: boolean } {
        if (this.stopping) {
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        const now = Date.now();
        this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
        if (this.restarts.length < MAX_RESTARTS) {
            this.restarts.push(now);
            log.warn(`msp-server exited; restarting (${this.restarts.length} of ${MAX_RESTARTS})`);
            this.setState('starting');
            return { action: CloseAction.Restart, handled: true };
        }
        const why = this.lastWords();
        this.fail({
            ok: false,
            reason:
                `msp-server stopped ${MAX_RESTARTS + 1} times in 3 minutes${why ? ` (last: ${why})` : ''}; ` +
                `it will not be restarted until you run "MSP: ${COMMANDS.restartServer.title}"`,
            install: '',
        });
        return { action: CloseAction.DoNotRestart, handled: true };
    }

    /** Why the server stopped: the last ERROR or traceback line of its stderr, never an INFO. */
    private lastWords(): string | undefined {
        return lastErrorLine(this.stderrTail);
    }

    /** One clear message per failure, with the log and the install command; never repeated. */
    private fail(check: Failure): void {
        this.setState('failed');
        log.error(`MSP cannot run: ${check.reason}${check.install ? `. Install it with: ${check.install}` : ''}`);
        if (this.failureShown) {
            return;
        }
        this.failureShown = true;
        if (check.noPython) {
            void showNoPython(check.reason, extensionId(), () => log.show());
            return;
        }
        const actions = check.install ? [SHOW_LOG, COPY_INSTALL] : [SHOW_LOG];
        const message = check.install
            ? `MSP: ${check.reason}. Install it with \`${check.install}\`, or set msp.server.command.`
            : `MSP: ${check.reason}.`;
        void vscode.window.showErrorMessage(message, ...actions).then((choice) => {
            if (choice === SHOW_LOG) {
                log.show();
            } else if (choice === COPY_INSTALL) {
                void vscode.env.clipboard.writeText(check.install);
            }
        });
    }

    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client) {
            this.stopping = true;
            try {
                if (client.state !== State.Stopped) {
                    await client.stop(5000);
                }
            } catch (error) {
                log.warn(`stopping msp-server: ${error instanceof Error ? error.message : String(error)}`);
            } finally {
                this.stopping = false;
            }
        }
        this.setState('stopped');
    }

    /** Stop, resolve the launch again (settings or interpreter may have changed) and start. */
    async restart(): Promise<void> {
        await this.stop();
        this.restarts = [];
        this.failureShown = false;
        await this.start();
    }

    /** Run `msp.server.<verb>` with its single object argument. */
    async execute<T>(verb: ServerVerb, args: Record<string, unknown>): Promise<T> {
        if (this.starting) {
            await this.starting;
        }
        const client = this.client;
        if (!client || this.stateValue !== 'running') {
            throw new ServerNotRunningError();
        }
        if (!this.isAvailable(verb)) {
            throw new NotAvailableError(verb, this.version);
        }
        return (await client.sendRequest(ExecuteCommandRequest.type, {
            command: `${COMMAND_PREFIX}${verb}`,
            arguments: [args],
        })) as T;
    }

    dispose(): void {
        void this.stop();
        void this.interpreterWatch?.then((watch) => watch?.dispose());
        this.stateEmitter.dispose();
        this.launchEmitter.dispose();
    }
}

