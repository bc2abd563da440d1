namespace TrainingService.Api.Security;

/// <summary>The headers every answer carries: no sniffing, no framing, no referrer, and a content security policy.</summary>
public static class SecurityHeaders
{
    /// <summary>Security headers on every answer (see <see cref="SecurityHeaders"/>).</summary>
    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            // The path as it arrives: Hangfire's dashboard moves its prefix into PathBase on the way in.
            var path = context.Request.Path;
            // At OnStarting, so error pages and answers written by other middleware get them too.
            context.Response.OnStarting(() =>
            {
                SecurityHeaders.Apply(context.Response, SecurityHeaders.IsUserInterface(path, context.Response.ContentType));
                return Task.CompletedTask;
            });
            return next(context);
        });
        return app;
    }

    /// <summary>JSON, CSV and event streams need nothing from a browser: nothing is allowed.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>
    /// Swagger UI and the two dashboards are pages of this origin's scripts and styles, some inline;
    /// nothing from elsewhere, and no framing (clickjacking).
    /// </summary>
    public const string UiPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    /// <summary>
    /// Pages and their files: Swagger UI, the Hangfire dashboard, and the web dashboard (its files under
    /// <c>/dashboard</c>, its page served as HTML at <c>/</c> and <c>/jobs/{id}</c> to browsers).
    /// </summary>
    public static bool IsUserInterface(PathString path, string? contentType) =>
        path.StartsWithSegments("/swagger") || path.StartsWithSegments("/hangfire") || path.StartsWithSegments("/dashboard")
        || (contentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) ?? false);

    public static void Apply(HttpResponse response, bool userInterface)
    {
        var headers = response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = userInterface ? UiPolicy : ApiPolicy;
    }
}
