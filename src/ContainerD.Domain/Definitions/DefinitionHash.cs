using System.Security.Cryptography;
using System.Text;

namespace ContainerD.Domain.Definitions;

/// <summary>
/// Identifies a definition's text, so the daemon can tell at start whether a declarative
/// definition changed since it was applied (then it is applied as an update).
/// </summary>
public static class DefinitionHash
{
    /// <summary>Lower-case hex SHA-256 of the UTF-8 text, exactly as written: any edit counts as a change.</summary>
    public static string Of(string yaml) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml)));
}
