#!/usr/bin/env node
/**
 * scanqueue-agent: the reference scan agent for scanqueue (and ThreadFix's Tasks API). A program
 * of its own: it talks to the server over HTTP only and shares no Nest module with it.
 *
 *   scanqueue-agent --config /etc/scanqueue-agent.json
 *   scanqueue-agent --version
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT/SIGHUP, 1 unexpected error, 2 bad configuration,
 * 3 refused by the server (API key or agent key). See docs/agent-cli.md.
 */
import { parseArgs } from 'node:util';
import { Agent, EXIT } from './agent';
import { AgentConfigError, CONFIG_FILE_VARIABLE, loadAgentConfig } from './agent-config';
import { AgentLog } from './agent-log';
import { AGENT_VERSION } from './version';

const USAGE = `Usage: scanqueue-agent [--config <file.json>] | --version | --help

Polls a scanqueue (ThreadFix Tasks API) server for scan tasks and runs the configured scanner
command for each. Settings come from the JSON file (--config or ${CONFIG_FILE_VARIABLE}) and
SCANQUEUE_AGENT_* environment variables, which override the file. See docs/agent-cli.md
in the scanqueue repository.
`;

async function main(): Promise<number> {
  const log = new AgentLog();
  let configFile: string | undefined;
  try {
    const { values } = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return EXIT.OK;
    }
    if (values.version) {
      process.stdout.write(`scanqueue-agent ${AGENT_VERSION}\n`);
      return EXIT.OK;
    }
    configFile = values.config;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return EXIT.CONFIG;
  }

  let agent: Agent;
  try {
    const config = loadAgentConfig(configFile, process.env);
    agent = new Agent(config, log, {
      progressOnTerminal: process.stdout.isTTY === true,
      environment: process.env,
    });
  } catch (error) {
    if (!(error instanceof AgentConfigError)) throw error;
    log.error(`invalid configuration: ${error.message}`);
    return EXIT.CONFIG;
  }
  // SIGHUP too: a closed terminal must not kill the agent by default action and leave its
  // scanner (in a process group of its own) running without it.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => agent.stop(`received ${signal}`));
  return agent.run();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`scanqueue-agent: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(EXIT.FAILURE);
  },
);
