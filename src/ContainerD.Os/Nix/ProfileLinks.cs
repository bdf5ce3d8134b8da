using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mono.Unix.Native;

namespace ContainerD.Os.Nix;

/// <summary>
/// A profile's generation written as Nix 2.x writes it (libstore: createGeneration, addPermRoot,
/// addIndirectRoot, switchLink), so that nix-env, nix-collect-garbage and the collector take it
/// for their own: PROFILE-N-link → the store path; gcroots/auto/HASH → PROFILE-N-link, the link
/// that makes it a GC root wherever the profile is (HASH: the SHA-1 of the link's path in Nix's
/// base32); PROFILE → PROFILE-N-link, relative, swapped in by a rename. The caller holds the store
/// path against a running collector until this returns (StoreServers).
/// </summary>
internal static class ProfileLinks
{
    /// <summary>Makes storePath the profile's current generation; returns its number.</summary>
    public static int Set(string profileDir, string profileName, string storePath, string autoRoots)
    {
        var last = NixTool.ListGenerations(profileDir).LastOrDefault();
        // Nix's rule: no new generation for the path the last one has already.
        int number = last is not null && last.StorePath == storePath ? last.Number : (last?.Number ?? 0) + 1;
        string generation = Path.Combine(profileDir, $"{profileName}-{number.ToString(CultureInfo.InvariantCulture)}-link");
        bool made = number != last?.Number;
        if (made)
        {
            File.CreateSymbolicLink(generation, storePath);
        }
        try
        {
            // Also for a generation that was there: a crash may have come between its two links.
            Directory.CreateDirectory(autoRoots);
            Replace(Path.Combine(autoRoots, IndirectRootName(generation)), generation);
            Replace(Path.Combine(profileDir, profileName), Path.GetFileName(generation));
        }
        catch when (made)
        {
            // Not current, and maybe held by no root: not left for the collector to empty and the next generation to number past.
            File.Delete(generation);
            throw;
        }
        AtomicFile.SyncDirectory(profileDir);
        return number;
    }

    /// <summary>gcroots/auto's name for a root at path: Nix's base32 of the SHA-1 of the path.</summary>
    public static string IndirectRootName(string path) => Base32(SHA1.HashData(Encoding.UTF8.GetBytes(path)));

    private const string Base32Digits = "0123456789abcdfghijklmnpqrsvwxyz";

    /// <summary>Nix's base32: 5 bits a digit, the last bits of the hash first.</summary>
    internal static string Base32(ReadOnlySpan<byte> hash)
    {
        int length = (hash.Length * 8 - 1) / 5 + 1;
        var digits = new StringBuilder(length);
        for (int n = length - 1; n >= 0; n--)
        {
            int bit = n * 5, i = bit / 8, j = bit % 8;
            int c = (hash[i] >> j) | (i >= hash.Length - 1 ? 0 : hash[i + 1] << (8 - j));
            digits.Append(Base32Digits[c & 0x1f]);
        }
        return digits.ToString();
    }

    /// <summary>
    /// link → target at once, by a rename over the old link. The temporary name starts with a dot,
    /// which no generation's name does: Nix never takes a half-made link for a generation.
    /// </summary>
    private static void Replace(string link, string target)
    {
        string temporary = Path.Combine(Path.GetDirectoryName(link)!, $".{Path.GetFileName(link)}.tmp-{Guid.NewGuid():N}");
        File.CreateSymbolicLink(temporary, target);
        // rename(2) itself: File.Move looks for a file at the end of the links, and finds a directory.
        if (Syscall.rename(temporary, link) != 0)
        {
            var error = Stdlib.GetLastError();
            File.Delete(temporary);
            throw new IOException($"cannot rename {temporary} to {link}: {error}");
        }
    }
}
