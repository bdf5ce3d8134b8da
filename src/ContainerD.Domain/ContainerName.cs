using System.Text.RegularExpressions;

namespace ContainerD.Domain;

/// <summary>
/// A container name is a hostname label and a file name at once, so it is kept to
/// ^[a-z][a-z0-9-]{0,30}$: no dots, slashes, upper case or unicode can reach a path or a config.
/// </summary>
public static partial class ContainerName
{
    public const int MaxLength = 31;

    [GeneratedRegex("^[a-z][a-z0-9-]{0,30}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    /// <summary>Why the name is not valid, or null when it is.</summary>
    public static string? Problem(string? name) => name switch
    {
        null or "" => "a container name must not be empty",
        { Length: > MaxLength } => $"container name '{Shorten(name)}' is {name.Length} characters long; the limit is {MaxLength}",
        _ when !IsValid(name) => $"container name '{Shorten(name)}' is not valid: use a lower-case letter followed by lower-case letters, digits and '-'",
        _ => null,
    };

    /// <summary>Throws InvalidName unless the name is valid.</summary>
    public static string Require(string? name) =>
        Problem(name) is { } problem ? throw new ContainerDException(ErrorKind.InvalidName, problem) : name!;

    private static string Shorten(string name) => name.Length <= 40 ? name : name[..40] + "…";
}
