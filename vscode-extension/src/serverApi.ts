/**
 * What the rest of the extension needs from the running server (server.ts implements it), and
 * its errors. Kept apart from server.ts so that commands and tests never load the language
 * client.
 */

import { ServerLaunch } from './interpreter';
import { ServerState } from './statusModel';
import { ServerVerb } from './wire';

export interface ServerApi {
    readonly state: ServerState;
    readonly version: string | undefined;
    readonly serverLaunch: ServerLaunch | undefined;
    isAvailable(verb: ServerVerb): boolean;
    /** Run `msp.server.<verb>` with its single object argument. */
    execute<T>(verb: ServerVerb, args: Record<string, unknown>): Promise<T>;
    restart(): Promise<void>;
    /** Working directory for MSP's processes (the CLI too): outside every workspace folder. */
    launchCwd(): string;
    /** Send msp/trustChanged: the server re-reads settings and trust, no restart. */
    notifyTrustChanged(): Promise<void>;
}

/** The server does not serve this command (an older msp-server). */
export class NotAvailableError extends Error {
    constructor(
        readonly verb: ServerVerb,
        readonly serverVersion: string | undefined,
    ) {
        super(`msp.server.${verb} is not available in this server version`);
    }
}

export class ServerNotRunningError extends Error {
    constructor() {
        super('the MSP language server is not running');
    }
}

/** A JSON-RPC error answer (vscode-jsonrpc's ResponseError): numeric code, optional data. */
export interface RpcError {
    message: string;
    code: number;
    data?: unknown;
}

export function isRpcError(error: unknown): error is RpcError {
    return (
        error instanceof Error &&
        typeof (error as { code?: unknown }).code === 'number' &&
        typeof error.message === 'string'
    );
}

/** `error.data.code` of an msp-server refusal (wire.json errorData), if any. */
export function mspErrorCode(error: RpcError): number | undefined {
    const code = (error.data as { code?: unknown } | undefined)?.code;
    return typeof code === 'number' ? code : undefined;
}
