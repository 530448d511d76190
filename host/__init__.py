"""The host side: sync daemon, evidence store, verification reports and the command line."""
