using ContainerD.Os.Nix;

namespace ContainerD.Tests.Os;

/// <summary>The name Nix gives an indirect root in gcroots/auto, which the daemon must give it too.</summary>
public sealed class ProfileLinkNameTests
{
    [Theory]
    // Made by nix-build --out-link on this machine (Nix 2.8): gcroots/auto/07mw… → this path.
    [InlineData("/tmp/h3-lifecycle/containerctld-test-5ad40cd3d5/state/containers/first/build-result", "07mw791xcw6ffbbcjinjrw98kz8av8xy")]
    // SHA-1(""), da39a3ee…, as `nix hash to-base32 --type sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709` prints it.
    [InlineData("", "143xibwh31h9bvxzalr0sjvbbvpa6ffs")]
    public void An_indirect_roots_name_is_Nixs_base32_of_the_SHA1_of_its_path(string path, string name) =>
        Assert.Equal(name, ProfileLinks.IndirectRootName(path));
}
