# The Cockpit page built from cockpit/ with the versions its package-lock.json pins (npm run build);
# $out/share/cockpit/containerctl is what install.sh puts in /usr/share/cockpit/containerctl.
# npmDepsHash: compute it once with nixpkgs' `prefetch-npm-deps cockpit/package-lock.json` — nixpkgs is
# not available where this was written. The lock leaves out registry URLs (cockpit/.npmrc); if the
# prefetcher asks for them, regenerate the lock once with `npm install --omit-lockfile-registry-resolved=false`.
{ lib, buildNpmPackage }:

buildNpmPackage {
  pname = "containerctl-cockpit";
  version = "0.1.0";
  src = lib.cleanSource ../cockpit;
  npmDepsHash = lib.fakeHash;

  installPhase = ''
    runHook preInstall
    mkdir -p $out/share/cockpit
    cp -r dist $out/share/cockpit/containerctl
    runHook postInstall
  '';

  meta = {
    description = "ContainerD's page for Cockpit: containers, their jobs, console logs and generations";
    platforms = lib.platforms.linux;
  };
}
