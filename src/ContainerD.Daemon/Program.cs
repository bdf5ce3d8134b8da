// Placeholder: the daemon project is an executable and needs an entry point for the solution
// (and the unit tests that reference it) to build. The daemon's hosting code replaces this file.
return 0;
