using System.Text.RegularExpressions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace TrainingService.Api.Dashboard;

/// <summary>
/// The web dashboard: static files under <c>/dashboard/</c> (wwwroot, front-end libraries vendored
/// there from npm — nothing is fetched from a CDN), and its single page for <c>/</c>,
/// <c>/jobs/{id}</c> and <c>/sweeps/{id}</c> when a browser asks for HTML. The same addresses keep
/// answering JSON to API clients, which don't ask for HTML (curl sends <c>Accept: */*</c>).
/// </summary>
public static partial class DashboardPages
{
    private const string PageFile = "dashboard/index.html";

    public static WebApplication UseDashboard(this WebApplication app)
    {
        // Beside the binaries rather than under the content root, which is wherever the process was started.
        var webRoot = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        var files = new PhysicalFileProvider(webRoot);
        var page = files.GetFileInfo(PageFile);
        if (!page.Exists)
            throw new InvalidOperationException($"The dashboard page {PageFile} is missing from {webRoot}; the build copies it there.");

        app.Use(async (context, next) =>
        {
            if (!IsPageRequest(context.Request))
            {
                await next(context);
                return;
            }
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers.Vary = HeaderNames.Accept;
            if (HttpMethods.IsHead(context.Request.Method))
                context.Response.ContentLength = page.Length;
            else
                await context.Response.SendFileAsync(page, context.RequestAborted);
        });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // Revalidate on every load (the ETag makes that cheap), so a new version is never mixed with a cached one.
            OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }

    private static bool IsPageRequest(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        && PagePath().IsMatch(request.Path.Value ?? "")
        && request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase));

    [GeneratedRegex("^/$|^/(jobs|sweeps)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/?$")]
    private static partial Regex PagePath();
}
