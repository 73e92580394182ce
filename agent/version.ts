/** Version of the agent, sent at registration as `agentVersion`. */
export const AGENT_VERSION = "0.1.0";
