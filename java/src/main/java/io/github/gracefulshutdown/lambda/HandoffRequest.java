package io.github.gracefulshutdown.lambda;

import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * One HTTP request for the extension to send after the runtime has gone
 * ({@link GracefulShutdown#handoff}). Immutable: each {@code with…} method
 * returns a new request.
 *
 * <pre>{@code
 * HandoffRequest hook = HandoffRequest.of("POST", "https://hooks.example.com/flushed")
 *         .withId("audit-1")
 *         .withHeader("content-type", "application/json")
 *         .withBody("{\"flushed\":true}");
 * HandoffRequest write = HandoffRequest.awsJson("dynamodb", "DynamoDB_20120810.BatchWriteItem", json, null);
 * }</pre>
 *
 * <p>The extension checks each request and names the field it refuses
 * ({@code requests[0].url: expected an http:// or https:// URL, …}):
 * {@code host}, {@code content-length}, {@code connection},
 * {@code transfer-encoding} and {@code expect} are its to write.
 */
public final class HandoffRequest {
    private final String id;
    private final String method;
    private final String url;
    private final List<Map.Entry<String, String>> headers;
    private final String body;
    private final byte[] bodyBytes;
    private final String signService;
    private final String signRegion;

    private HandoffRequest(String id, String method, String url, List<Map.Entry<String, String>> headers,
            String body, byte[] bodyBytes, String signService, String signRegion) {
        this.id = id;
        this.method = method;
        this.url = url;
        this.headers = headers;
        this.body = body;
        this.bodyBytes = bodyBytes;
        this.signService = signService;
        this.signRegion = signRegion;
    }

    /** A request without headers or body: {@code method} upper-case ({@code "POST"}), {@code url} absolute http:// or https://. */
    public static HandoffRequest of(String method, String url) {
        return new HandoffRequest(null, Objects.requireNonNull(method, "method"), Objects.requireNonNull(url, "url"),
                List.of(), null, null, null, null);
    }

    /** With the caller's name for it, in the extension's log and dead-letter record (else it is numbered h1, h2, …). */
    public HandoffRequest withId(String id) {
        return new HandoffRequest(id, method, url, headers, body, bodyBytes, signService, signRegion);
    }

    /** With one more header, after those already given (the order is kept). */
    public HandoffRequest withHeader(String name, String value) {
        List<Map.Entry<String, String>> more = new ArrayList<>(headers);
        more.add(Map.entry(Objects.requireNonNull(name, "header name"), Objects.requireNonNull(value, "header value")));
        return new HandoffRequest(id, method, url, Collections.unmodifiableList(more), body, bodyBytes, signService,
                signRegion);
    }

    /** With a text body (sent as {@code body}), instead of any body given before. */
    public HandoffRequest withBody(String text) {
        return new HandoffRequest(id, method, url, headers, text, null, signService, signRegion);
    }

    /** With a body of bytes (sent in standard base64 as {@code bodyBase64}), instead of any body given before. */
    public HandoffRequest withBody(byte[] bytes) {
        return new HandoffRequest(id, method, url, headers, null, bytes == null ? null : bytes.clone(), signService,
                signRegion);
    }

    /**
     * Signed by the extension with AWS SigV4 for {@code service} ({@code "dynamodb"})
     * in {@code region} ({@code "us-east-1"}), at each attempt, with the
     * credentials of its environment (the function's).
     */
    public HandoffRequest withSigning(String service, String region) {
        return new HandoffRequest(id, method, url, headers, body, bodyBytes, Objects.requireNonNull(service, "service"),
                Objects.requireNonNull(region, "region"));
    }

    public String id() {
        return id;
    }

    public String method() {
        return method;
    }

    public String url() {
        return url;
    }

    /** The headers, in order. */
    public List<Map.Entry<String, String>> headers() {
        return headers;
    }

    /** The text body, or null. */
    public String body() {
        return body;
    }

    /** The body of bytes, or null. */
    public byte[] bodyBytes() {
        return bodyBytes == null ? null : bodyBytes.clone();
    }

    /** The signing service, or null when the request is not signed. */
    public String signService() {
        return signService;
    }

    /** The signing region, or null when the request is not signed. */
    public String signRegion() {
        return signRegion;
    }

    /**
     * The request for one call of an AWS JSON-protocol API (DynamoDB, SQS,
     * Kinesis, …), signed by the extension: {@code POST} of {@code body} with
     * {@code content-type: application/x-amz-json-1.0} and
     * {@code x-amz-target: target}, to {@code AWS_ENDPOINT_URL_<SERVICE>}
     * (upper-cased, {@code -} as {@code _}), else {@code AWS_ENDPOINT_URL},
     * else {@code https://<service>.<region>.amazonaws.com/}, as the AWS SDKs
     * choose. The region is {@code region}, else {@code AWS_REGION}, else
     * {@code AWS_DEFAULT_REGION}.
     *
     * @param region the region, or null to take it from the environment
     * @throws IllegalArgumentException naming what is missing or wrong
     *     ({@code region: not given, and neither AWS_REGION nor AWS_DEFAULT_REGION is set})
     */
    public static HandoffRequest awsJson(String service, String target, String body, String region) {
        return awsJson(service, target, body, region, System::getenv);
    }

    static HandoffRequest awsJson(String service, String target, String body, String region,
            Function<String, String> env) {
        Objects.requireNonNull(body, "body");
        if (!isLabel(service, 64)) {
            throw new IllegalArgumentException(
                    "service: expected an AWS signing name such as \"dynamodb\", got " + excerpt(service));
        }
        if (target == null || target.isEmpty() || target.codePoints().anyMatch(HandoffRequest::spaceOrControl)) {
            throw new IllegalArgumentException(
                    "target: expected an X-Amz-Target such as \"DynamoDB_20120810.BatchWriteItem\", got " + excerpt(target));
        }
        if (region == null) {
            region = set(env, "AWS_REGION");
        }
        if (region == null) {
            region = set(env, "AWS_DEFAULT_REGION");
        }
        if (region == null) {
            throw new IllegalArgumentException("region: not given, and neither AWS_REGION nor AWS_DEFAULT_REGION is set");
        }
        if (!isLabel(region, 32)) {
            throw new IllegalArgumentException("region: expected an AWS region such as \"us-east-1\", got " + excerpt(region));
        }
        String serviceVariable = "AWS_ENDPOINT_URL_" + service.toUpperCase(Locale.ROOT).replace('-', '_');
        String endpoint = set(env, serviceVariable);
        if (endpoint == null) {
            endpoint = set(env, "AWS_ENDPOINT_URL");
        }
        String url = endpoint != null ? withPath(endpoint) : "https://" + service + "." + region + ".amazonaws.com/";
        String why = checkUrl(url);
        if (why != null) {
            throw new IllegalArgumentException(serviceVariable + ": " + why + ", got " + excerpt(url));
        }
        return of("POST", url)
                .withHeader("content-type", "application/x-amz-json-1.0")
                .withHeader("x-amz-target", target)
                .withBody(body)
                .withSigning(service, region);
    }

    /** This request as a JSON object, fields in the protocol's order: id, method, url, headers, body or bodyBase64, sign. */
    void appendJson(StringBuilder out) {
        out.append('{');
        if (id != null && !id.isEmpty()) {
            out.append("\"id\":");
            string(out, id);
            out.append(',');
        }
        out.append("\"method\":");
        string(out, method);
        out.append(",\"url\":");
        string(out, url);
        if (!headers.isEmpty()) {
            out.append(",\"headers\":{");
            boolean first = true;
            for (Map.Entry<String, String> h : headers) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                string(out, h.getKey());
                out.append(':');
                string(out, h.getValue());
            }
            out.append('}');
        }
        if (body != null && !body.isEmpty()) {
            out.append(",\"body\":");
            string(out, body);
        }
        if (bodyBytes != null && bodyBytes.length > 0) {
            out.append(",\"bodyBase64\":\"").append(Base64.getEncoder().encodeToString(bodyBytes)).append('"');
        }
        if (signService != null) {
            out.append(",\"sign\":{\"service\":");
            string(out, signService);
            out.append(",\"region\":");
            string(out, signRegion);
            out.append('}');
        }
        out.append('}');
    }

    String toJson() {
        StringBuilder out = new StringBuilder(128);
        appendJson(out);
        return out.toString();
    }

    private static void string(StringBuilder out, String text) {
        out.append('"');
        Json.escapeInto(out, Report.clean(text));
        out.append('"');
    }

    private static String set(Function<String, String> env, String name) {
        String value = env.apply(name);
        return value == null || value.isEmpty() ? null : value;
    }

    private static boolean spaceOrControl(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || Character.isISOControl(c);
    }

    /** Lower-case letters, digits and {@code -}, 1 to {@code max} bytes. */
    private static boolean isLabel(String s, int max) {
        if (s == null || s.isEmpty() || s.length() > max) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
                return false;
            }
        }
        return true;
    }

    /** The first 64 characters of {@code s}, as a JSON string. */
    private static String excerpt(String s) {
        if (s == null) {
            return "null";
        }
        s = Report.clean(s);
        int end = s.offsetByCodePoints(0, Math.min(64, s.codePointCount(0, s.length())));
        return Json.quote(s.substring(0, end));
    }

    /** An endpoint URL with at least the root path: {@code http://host:1} becomes {@code http://host:1/}. */
    private static String withPath(String endpoint) {
        int scheme = endpoint.indexOf("://");
        String rest = scheme >= 0 ? endpoint.substring(scheme + 3) : endpoint;
        return rest.indexOf('/') >= 0 ? endpoint : endpoint + "/";
    }

    /** The longest URL the extension takes. */
    private static final int MAX_URL_BYTES = 2048;

    /** What is wrong with {@code url} as a handoff's URL, or null. */
    private static String checkUrl(String url) {
        if (url.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_URL_BYTES) {
            return "longer than 2048 bytes";
        }
        String rest;
        if (url.startsWith("https://")) {
            rest = url.substring(8);
        } else if (url.startsWith("http://")) {
            rest = url.substring(7);
        } else {
            return "expected an http:// or https:// URL";
        }
        if (url.codePoints().anyMatch(HandoffRequest::spaceOrControl)) {
            return "white space or a control character in the URL";
        }
        int end = rest.length();
        for (char c : new char[] {'/', '?', '#'}) {
            int i = rest.indexOf(c);
            if (i >= 0 && i < end) {
                end = i;
            }
        }
        String authority = rest.substring(0, end);
        String host = authority.substring(authority.lastIndexOf('@') + 1);
        if (host.isEmpty() || host.startsWith(":")) {
            return "no host in the URL";
        }
        return null;
    }

    @Override
    public String toString() {
        return "HandoffRequest[" + method + " " + url + (id != null ? " id=" + id : "") + "]";
    }
}
