package dev.distillbridge.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP proxy to a real server that closes its first connection once {@code cutAfter}
 * bytes have gone from the server to the client: a dropped connection mid-download.
 */
final class CuttingProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int upstreamPort;
    private final long cutAfter;
    final List<AtomicLong> downstreamBytes = new CopyOnWriteArrayList<>();

    CuttingProxy(int upstreamPort, long cutAfter) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.upstreamPort = upstreamPort;
        this.cutAfter = cutAfter;
        Thread accept = new Thread(this::accept, "cutting-proxy");
        accept.setDaemon(true);
        accept.start();
    }

    String target() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
                AtomicLong counter = new AtomicLong();
                boolean cut = downstreamBytes.isEmpty();
                downstreamBytes.add(counter);
                pipe(client, upstream, null, -1);
                pipe(upstream, client, counter, cut ? cutAfter : -1);
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void pipe(Socket from, Socket to, AtomicLong counter, long limit) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                    if (limit >= 0 && counter.get() + n > limit) {
                        out.write(buffer, 0, (int) (limit - counter.get()));
                        break;
                    }
                    out.write(buffer, 0, n);
                    if (counter != null) {
                        counter.addAndGet(n);
                    }
                }
            } catch (IOException ignored) {
                // the other side closed: close both
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "cutting-proxy-pipe");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
