using System.Net;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.Api.Tests;

/// <summary>
/// The dashboard's addresses: a browser asking for HTML gets the page at <c>/</c>, <c>/jobs/{id}</c>
/// and <c>/sweeps/{id}</c>, while API clients at the same addresses keep getting JSON. (The page
/// itself is driven in a real browser by scripts/dashboard-test.sh.)
/// </summary>
public abstract partial class ApiContractTests
{
    private const string BrowserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    [Theory]
    [InlineData("/")]
    [InlineData("/jobs/0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")]
    [InlineData("/sweeps/0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")]
    public async Task A_browser_gets_the_dashboard_page(string path)
    {
        var response = await Client.SendAsync(WithAccept(path, BrowserAccept));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<script type=\"module\" src=\"/dashboard/app.js\"></script>", html);
        Assert.DoesNotContain("//cdn", html); // every library is served from here
    }

    [Fact]
    public async Task API_clients_at_the_same_address_still_get_json()
    {
        var id = await CreateTrainJobAsync();

        var job = await Client.SendAsync(WithAccept($"/jobs/{id}", "*/*"));
        Assert.Equal(HttpStatusCode.OK, job.StatusCode);
        Assert.Equal("application/json", job.Content.Headers.ContentType?.MediaType);

        var unknown = await Client.SendAsync(WithAccept("/jobs/not-an-id", BrowserAccept));
        Assert.NotEqual("text/html", unknown.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/dashboard/app.js", "text/javascript")]
    [InlineData("/dashboard/app.css", "text/css")]
    [InlineData("/dashboard/vendor/uplot/uPlot.iife.min.js", "text/javascript")]
    public async Task The_dashboard_assets_are_served_from_the_service(string path, string mediaType)
    {
        var response = await Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 100);
    }

    /// <summary>A GET with an Accept header as browsers and curl send it: several types with weights.</summary>
    private static HttpRequestMessage WithAccept(string path, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        return request;
    }
}
