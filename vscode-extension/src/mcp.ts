/**
 * MSP's MCP server (`msp mcp`) offered to VS Code's agents (Copilot's agent mode and any other
 * MCP client inside the editor), one definition per workspace folder, through
 * `vscode.lm.registerMcpServerDefinitionProvider`.
 *
 * The definition starts the same interpreter as the language server, isolated the same way:
 * `<python> -P -m msp_server.cli mcp --workspace <folder>` (with a platform .vsix:
 * `<python> -P <extension>/bundled/launch.py msp_server.cli mcp …`, see interpreter.ts's
 * cliCommand), PYTHONSAFEPATH=1, a working directory outside every folder. Nothing is offered in Restricted Mode: an agent recording a session is
 * fine, but VS Code must never start a process chosen by a cloned folder, so the interpreter is
 * offered only once the workspace is trusted and msp-server has run with it.
 */

import * as vscode from 'vscode';

import { cliCommand, ServerLaunch } from './interpreter';
import { log } from './log';

/** package.json's contributes.mcpServerDefinitionProviders[].id. */
export const MCP_PROVIDER_ID = 'msp';

/** One stdio server, as VS Code will start it (plain data: unit-tested, logged as JSON). */
export interface McpLaunch {
    label: string;
    command: string;
    args: string[];
    cwd: string;
    env: Record<string, string>;
    /** The folder the server serves. */
    workspace: string;
}

export interface McpFolder {
    name: string;
    scheme: string;
    fsPath: string;
}

export type McpOffer = { launches: McpLaunch[] } | { launches: []; why: string };

/** The label VS Code shows in its MCP server list. */
export function mcpLabel(folder: McpFolder): string {
    return `MSP (${folder.name})`;
}

/**
 * What to offer: nothing in Restricted Mode or before msp-server has run (the launch is then
 * known to import msp_server); else one `msp mcp --workspace <folder>` per local folder.
 */
export function mcpLaunches(input: {
    launch: ServerLaunch | undefined;
    folders: readonly McpFolder[];
    trusted: boolean;
    cwd: string;
}): McpOffer {
    if (!input.trusted) {
        return { launches: [], why: 'Restricted Mode: trust the workspace to offer it' };
    }
    if (!input.launch) {
        return { launches: [], why: 'msp-server has not started yet' };
    }
    const local = input.folders.filter((folder) => folder.scheme === 'file');
    if (local.length === 0) {
        return { launches: [], why: 'no local workspace folder is open' };
    }
    const cli = cliCommand(input.launch);
    return {
        launches: local.map((folder) => ({
            label: mcpLabel(folder),
            command: cli.command,
            args: [...cli.args, 'mcp', '--workspace', folder.fsPath],
            cwd: input.cwd,
            env: { PYTHONSAFEPATH: '1' },
            workspace: folder.fsPath,
        })),
    };
}

/** What the provider needs from the language server (server.ts implements it). */
export interface McpLaunchSource {
    /** The launch msp-server last ran with (kept across restarts); undefined before. */
    readonly mcpLaunch: ServerLaunch | undefined;
    /** Fires when mcpLaunch changes. */
    readonly onDidChangeMcpLaunch: vscode.Event<void>;
    /** Working directory of MSP's processes: outside every workspace folder. */
    launchCwd(): string;
    /** msp-server's version, for the definition's cache key. */
    readonly version: string | undefined;
}

/** The provider VS Code asks for MSP's MCP servers; refreshes on folder, trust and launch changes. */
export class McpProvider
    implements vscode.McpServerDefinitionProvider<vscode.McpStdioServerDefinition>, vscode.Disposable
{
    private readonly changed = new vscode.EventEmitter<void>();
    readonly onDidChangeMcpServerDefinitions = this.changed.event;
    private readonly subscriptions: vscode.Disposable[];
    private lastLogged: string | undefined;

    constructor(private readonly source: McpLaunchSource) {
        const refresh = (why: string) => () => {
            log.info(`MCP: server definitions changed (${why})`);
            this.changed.fire();
        };
        this.subscriptions = [
            source.onDidChangeMcpLaunch(refresh('msp-server launch')),
            vscode.workspace.onDidChangeWorkspaceFolders(refresh('workspace folders')),
            vscode.workspace.onDidGrantWorkspaceTrust(refresh('workspace trusted')),
        ];
    }

    offer(): McpOffer {
        return mcpLaunches({
            launch: this.source.mcpLaunch,
            folders: (vscode.workspace.workspaceFolders ?? []).map((f) => ({
                name: f.name,
                scheme: f.uri.scheme,
                fsPath: f.uri.fsPath,
            })),
            trusted: vscode.workspace.isTrusted,
            cwd: this.source.launchCwd(),
        });
    }

    provideMcpServerDefinitions(): vscode.McpStdioServerDefinition[] {
        const offer = this.offer();
        this.logOffer(offer);
        return offer.launches.map((launch) => {
            const definition = new vscode.McpStdioServerDefinition(
                launch.label,
                launch.command,
                launch.args,
                launch.env,
                this.source.version,
            );
            definition.cwd = vscode.Uri.file(launch.cwd);
            return definition;
        });
    }

    /** Checked again at start: trust may have been withdrawn since the list was made. */
    resolveMcpServerDefinition(server: vscode.McpStdioServerDefinition): vscode.McpStdioServerDefinition | undefined {
        if (!vscode.workspace.isTrusted) {
            log.warn(`MCP: not starting ${server.label}: the workspace is in Restricted Mode`);
            return undefined;
        }
        log.info(`MCP: starting ${server.label}`);
        return server;
    }

    /** The definitions, command lines included, once per change (the e2e test reads them). */
    private logOffer(offer: McpOffer): void {
        const line =
            'why' in offer
                ? `MCP: no server offered (${offer.why})`
                : `MCP: offering ${offer.launches.length} server(s): ${JSON.stringify(offer.launches)}`;
        if (line !== this.lastLogged) {
            this.lastLogged = line;
            log.info(line);
        }
    }

    dispose(): void {
        this.subscriptions.forEach((s) => s.dispose());
        this.changed.dispose();
    }
}

/** Register the provider; a VS Code without the MCP API (a fork) only gets a log line. */
export function registerMcpProvider(source: McpLaunchSource): vscode.Disposable[] {
    const lm = (vscode as { lm?: Partial<typeof vscode.lm> }).lm;
    if (typeof lm?.registerMcpServerDefinitionProvider !== 'function') {
        log.warn('MCP: this editor has no MCP server API (VS Code 1.101+): configure `msp mcp` by hand (docs/mcp.md)');
        return [];
    }
    const provider = new McpProvider(source);
    return [provider, lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, provider)];
}
