namespace ContainerD.Domain.Definitions;

/// <summary>One problem in a definition, with where it is: "web.yaml:4:9: idmap.size 1000 is not a multiple of 65536".</summary>
public sealed record DefinitionError(string Source, int Line, int Column, string Message)
{
    public override string ToString() => Line > 0 ? $"{Source}:{Line}:{Column}: {Message}" : $"{Source}: {Message}";
}

/// <summary>A definition with one or more problems; the message lists all of them.</summary>
public sealed class InvalidDefinitionException(IReadOnlyList<DefinitionError> errors)
    : ContainerDException(ErrorKind.InvalidDefinition, string.Join("; ", errors))
{
    public IReadOnlyList<DefinitionError> Errors { get; } = errors;
}
