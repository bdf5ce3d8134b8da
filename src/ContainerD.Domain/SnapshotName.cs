using System.Text.RegularExpressions;

namespace ContainerD.Domain;

/// <summary>A snapshot's name is a directory name below its container's: ^[a-z0-9][a-z0-9-]{0,62}$, no dots or slashes.</summary>
public static partial class SnapshotName
{
    public const int MaxLength = 63;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>Throws InvalidName unless the name is valid.</summary>
    public static string Require(string? name) => name is not null && Pattern().IsMatch(name) ? name
        : throw new ContainerDException(ErrorKind.InvalidName, name is { Length: > MaxLength }
            ? $"a snapshot name is at most {MaxLength} characters"
            : $"snapshot name '{(name is { Length: > 40 } ? name[..40] + "…" : name)}' is not valid: use lower-case letters, digits and '-', starting with a letter or digit");

    /// <summary>The name a snapshot gets when none is given: when it was taken, to the second (UTC).</summary>
    public static string ForTime(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
}
