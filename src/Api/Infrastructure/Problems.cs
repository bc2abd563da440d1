using Microsoft.AspNetCore.Http.HttpResults;

namespace TrainingService.Api.Infrastructure;

/// <summary>
/// The RFC 7807 answers the endpoints give, in one place so the same situation always reads the
/// same: a status, a short title and a detail that says what to do about it. The problem-details
/// service adds <c>instance</c> and <c>traceId</c> to each (see <see cref="ApiSetup"/>).
/// </summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult JobNotFound(string id) =>
        NotFound($"There is no job '{Shorten(id)}'.");

    public static ProblemHttpResult SweepNotFound(string id) =>
        NotFound($"There is no sweep {Shorten(id)}.");

    public static ProblemHttpResult Conflict(string title, string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: title);

    public static ProblemHttpResult PayloadTooLarge(long limitBytes) =>
        TypedResults.Problem(
            $"The request body is larger than the {limitBytes:N0} bytes this endpoint accepts.",
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Request body too large");

    public static ProblemHttpResult UnsupportedMediaType(string? contentType) =>
        TypedResults.Problem(
            contentType is null
                ? "The request has no Content-Type; send the body as application/json."
                : $"Content-Type '{Shorten(contentType)}' is not accepted; send the body as application/json (UTF-8).",
            statusCode: StatusCodes.Status415UnsupportedMediaType,
            title: "Unsupported media type");

    /// <summary>A server-side fault whose cause is logged, not shown: the client gets no paths or stack traces.</summary>
    public static ProblemHttpResult ServerError(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status500InternalServerError, title: "Internal server error");

    /// <summary>A single bad parameter, as a validation problem naming it.</summary>
    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>Echoed client input is cut short, so an error message never becomes a large or hostile payload.</summary>
    public static string Shorten(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
