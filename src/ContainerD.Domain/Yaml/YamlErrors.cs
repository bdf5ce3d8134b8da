using System.Diagnostics.CodeAnalysis;
using ContainerD.Domain.Definitions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ContainerD.Domain.Yaml;

/// <summary>
/// Every problem found in one YAML file, so that a user fixes them all in one round instead of
/// one per attempt. Thrown together, in file order, as one InvalidDefinitionException.
/// </summary>
internal sealed class YamlErrors(string source)
{
    // Bounds the message a hostile file can produce (a list of a million bad items).
    private const int Limit = 100;

    private readonly List<DefinitionError> _errors = [];
    private int _dropped;

    public bool Any => _errors.Count > 0;

    public void Add(YamlNode at, string message) => Add(at.Start, message);

    public void Add(Mark at, string message) => Add((int)at.Line, (int)at.Column, message);

    /// <summary>A problem of the file as a whole (too big, empty): it has no line.</summary>
    public void AddWhole(string message) => Add(0, 0, message);

    public void ThrowIfAny()
    {
        if (_errors.Count > 0)
            Throw();
    }

    /// <summary>Throws what was collected, which must be something.</summary>
    [DoesNotReturn]
    public void Throw()
    {
        var all = _errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList();
        if (_dropped > 0)
            all.Add(new DefinitionError(source, 0, 0, $"… and {_dropped} more problems"));
        throw new InvalidDefinitionException(all);
    }

    private void Add(int line, int column, string message)
    {
        if (_errors.Count < Limit)
            _errors.Add(new DefinitionError(source, line, column, message));
        else
            _dropped++;
    }
}
