/**
 * MSP for VS Code: a thin client of msp-server. All session state and logic live in the server;
 * this extension gathers input (commands.ts), shows state (statusBar.ts) and results
 * (notifications.ts), and starts the server (server.ts).
 */

import * as vscode from 'vscode';

import { Commands } from './commands';
import { log, logChannel } from './log';
import { registerMcpProvider } from './mcp';
import { MspView } from './mspView';
import { Notifier } from './notifications';
import { registerWeeklyReport } from './report';
import { MspServer } from './server';
import { StatusBar } from './statusBar';
import { VirtualDocuments } from './virtualDocs';
import { SETTINGS_SECTION } from './wire';

let server: MspServer | undefined;

/** Keys of the `msp` section this extension contributes, relative to it ("capture.enabled"). */
function contributedSettings(context: vscode.ExtensionContext): string[] {
    const properties = (context.extension.packageJSON as { contributes?: { configuration?: { properties?: object } } })
        .contributes?.configuration?.properties;
    return Object.keys(properties ?? {})
        .filter((key) => key.startsWith(`${SETTINGS_SECTION}.`))
        .map((key) => key.slice(SETTINGS_SECTION.length + 1));
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    context.subscriptions.push(logChannel());
    let statusBar: StatusBar | undefined;
    let notifier: Notifier | undefined;
    let commands: Commands | undefined;
    let view: MspView | undefined;
    const docs = new VirtualDocuments();
    server = new MspServer({
        sessionChanged: (p) => {
            statusBar?.sessionChanged(p);
            void view?.sessionChanged(p);
        },
        syncStatus: (p) => {
            statusBar?.syncStatus(p);
            void view?.syncStatus(p);
        },
        entitiesCaptured: (p) => {
            notifier?.entitiesCaptured(p);
            // The walkthrough's "See an entity captured" step completes on it.
            void vscode.commands.executeCommand('setContext', 'msp.entityCaptured', true);
            void view?.entitiesCaptured(p);
        },
        payloadsGenerated: (p) => {
            void notifier?.payloadsGenerated(p);
            void view?.payloadsGenerated(p);
        },
        captureProblems: (p) => {
            notifier?.captureProblems(p);
            void view?.captureProblems(p);
        },
        codeActionRan: (command, args, result) => {
            notifier?.recordedFromEditor(command, result);
            const folderUri = (args[0] as { folderUri?: unknown } | undefined)?.folderUri;
            if (typeof folderUri === 'string') {
                void view?.recordWritten(folderUri, result);
            }
        },
    }, contributedSettings(context), context.globalStorageUri.scheme === 'file' ? context.globalStorageUri.fsPath : undefined);
    notifier = new Notifier({
        // Restricted Mode delivers nothing: no Send button that could only fail.
        canSend: () => vscode.workspace.isTrusted && (server?.isAvailable('sendPayload') ?? false),
        sendPayloads: (folderUri, payloads) => commands!.sendPayloads(folderUri, payloads),
        openPayloads: (payloads) => docs.showPayloads(payloads),
    });
    statusBar = new StatusBar(server);
    view = new MspView(server);
    commands = new Commands({ server, statusBar, notifier, docs, view });
    // The Team view shown before the server ran asks once it runs (not on every state change).
    context.subscriptions.push(server.onDidChangeState((state) => state === 'running' && view?.teamTree.serverStarted()));
    context.subscriptions.push(server, statusBar, notifier, ...docs.register(), ...view.register(), ...commands.register());
    // `msp mcp` for the editor's agents, with the language server's interpreter (mcp.ts).
    context.subscriptions.push(...registerMcpProvider(server));
    context.subscriptions.push(registerWeeklyReport(server)); // MSP: Weekly Report (report.ts)

    // A new server command needs a restart; other msp.* settings reach the server through
    // workspace/didChangeConfiguration (the language client's synchronize option).
    context.subscriptions.push(
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (e.affectsConfiguration(`${SETTINGS_SECTION}.server.command`)) {
                void server?.restartIfCommandChanged().then((restarted) => {
                    if (restarted) {
                        log.info('msp.server.command changed: msp-server restarted');
                    }
                });
            }
        }),
        vscode.workspace.onDidGrantWorkspaceTrust(() => void trustGranted()),
    );
    log.info(`MSP extension ${String(context.extension.packageJSON.version)} activated`);
    openWalkthroughOnce(context);
    await server.start();
}

const WALKTHROUGH_SHOWN = 'msp.walkthroughShown';

/** The walkthrough opens once, on the first activation after install (not on every window). */
function openWalkthroughOnce(context: vscode.ExtensionContext): void {
    if (context.globalState.get<boolean>(WALKTHROUGH_SHOWN)) {
        return;
    }
    void context.globalState.update(WALKTHROUGH_SHOWN, true);
    void vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#gettingStarted`, false);
}

/**
 * The window left Restricted Mode. A workspace-chosen server command now applies (a restart);
 * otherwise the running server is told and lifts its restrictions without a restart.
 */
async function trustGranted(): Promise<void> {
    if (await server?.restartIfCommandChanged()) {
        log.info('workspace trusted: its msp.server.command applies now; msp-server restarted');
        return;
    }
    log.info('workspace trusted: leaving Restricted Mode');
    await server?.notifyTrustChanged();
}

export async function deactivate(): Promise<void> {
    await server?.stop();
    server = undefined;
}
