//! One source, many sinks: the source is read once and every chunk goes to each sink through its
//! own bounded queue and thread, so nodes receive in parallel and a slow node holds the others
//! back by at most the queue. A sink that fails is dropped; the others go on.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

const CHUNK: usize = 1 << 20;
/// Chunks a sink may lag behind the reader.
const WINDOW: usize = 16;

/// Copies `source` into every sink; returns the bytes read and, per sink, what it wrote or why
/// it stopped. An error reading the source is returned as is (sinks then saw a short stream).
pub fn broadcast<R: Read, W: Write + Send>(
    mut source: R,
    sinks: Vec<W>,
) -> io::Result<(u64, Vec<io::Result<u64>>)> {
    std::thread::scope(|scope| {
        let mut senders: Vec<Option<SyncSender<Arc<[u8]>>>> = vec![];
        let mut workers = vec![];
        for mut sink in sinks {
            let (sender, receiver) = sync_channel::<Arc<[u8]>>(WINDOW);
            senders.push(Some(sender));
            workers.push(scope.spawn(move || -> io::Result<u64> {
                let mut written = 0;
                for chunk in receiver {
                    sink.write_all(&chunk)?;
                    written += chunk.len() as u64;
                }
                sink.flush()?;
                Ok(written)
            }));
        }
        let mut total = 0u64;
        let mut buffer = vec![0u8; CHUNK];
        let read_result = loop {
            let n = match source.read(&mut buffer) {
                Ok(0) => break Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            total += n as u64;
            let chunk: Arc<[u8]> = Arc::from(&buffer[..n]);
            for slot in senders.iter_mut() {
                // A closed queue means its sink failed: stop feeding it.
                if slot
                    .as_ref()
                    .is_some_and(|s| s.send(chunk.clone()).is_err())
                {
                    *slot = None;
                }
            }
            if senders.iter().all(Option::is_none) {
                break Ok(total);
            }
        };
        drop(senders);
        let results = workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(io::Error::other("sink thread panicked")))
            })
            .collect();
        read_result.map(|total| (total, results))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FailAfter(usize, Vec<u8>);
    impl Write for FailAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.1.len() >= self.0 {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            self.1.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_sink_gets_every_byte_and_a_failing_one_does_not_stop_the_others() {
        let data: Vec<u8> = (0..5 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let sinks = vec![
            FailAfter(usize::MAX, vec![]),
            FailAfter(CHUNK, vec![]),
            FailAfter(usize::MAX, vec![]),
        ];
        let (total, results) = broadcast(&data[..], sinks).unwrap();
        assert_eq!(total, data.len() as u64);
        assert_eq!(results[0].as_ref().unwrap(), &(data.len() as u64));
        assert_eq!(
            results[1].as_ref().unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(results[2].as_ref().unwrap(), &(data.len() as u64));
    }
}
