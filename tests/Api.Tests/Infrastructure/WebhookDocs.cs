using System.Text.RegularExpressions;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>
/// The verification examples of docs/webhooks.md, as the tests run or compare them: the fenced code
/// block after <c>&lt;!-- NAME:start --&gt;</c>, up to <c>&lt;!-- NAME:end --&gt;</c>.
/// </summary>
public static class WebhookDocs
{
    public static string Path { get; } = System.IO.Path.Combine(TestData.RepositoryRoot, "docs", "webhooks.md");

    /// <summary>The shell lines that check a signature (reading <c>$SECRET</c>, <c>$SIGNATURE</c> and <c>body.json</c>).</summary>
    public static string ShellCheck() => Block("verify-shell");

    /// <summary>The C# example, which is <see cref="WebhookVerification.IsValid"/>.</summary>
    public static string CSharpCheck() => Block("verify-csharp");

    private static string Block(string name)
    {
        var text = File.ReadAllText(Path);
        var match = Regex.Match(text, $@"<!-- {name}:start -->\s*```[a-z]*\n(?<code>.*?)```\s*<!-- {name}:end -->", RegexOptions.Singleline);
        return match.Success ? match.Groups["code"].Value : throw new InvalidOperationException($"docs/webhooks.md has no {name} block.");
    }
}
