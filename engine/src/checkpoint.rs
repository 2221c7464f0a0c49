//! Lab checkpoints as bytes: a small writer and reader, and burn modules with their host Adam
//! moments (for [`crate::lab::Lab::save_state`]).
//!
//! A module's parameters are stored in the order the module visits them, not by parameter id:
//! ids differ between two builds of the same lab, the order does not. Only the fused host Adam
//! ([`Adam::Host`], the CPU backend) can be saved; on another backend a lab offers no
//! checkpoint and rewinds re-execute.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Tensor, TensorData};

use crate::error::LabError;
use crate::nn::Adam;
use crate::rng::Rng;

fn short(what: &str) -> LabError {
    LabError::compute(format!("checkpoint: {what}"))
}

/// Appends values to a checkpoint.
#[derive(Debug, Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    /// An empty checkpoint.
    pub fn new() -> Writer {
        Writer::default()
    }
    /// The bytes written.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
    /// A whole number.
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A float, exactly.
    pub fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    /// An optional float.
    pub fn opt_f64(&mut self, v: Option<f64>) {
        self.u64(u64::from(v.is_some()));
        self.f64(v.unwrap_or(0.0));
    }
    /// Floats, exactly, with their count.
    pub fn f32s(&mut self, v: &[f32]) {
        self.u64(v.len() as u64);
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }
    /// Indices, with their count.
    pub fn usizes(&mut self, v: &[usize]) {
        self.u64(v.len() as u64);
        for &x in v {
            self.u64(x as u64);
        }
    }
    /// A string.
    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    /// A generator's state.
    pub fn rng(&mut self, r: &Rng) {
        for x in r.state() {
            self.u64(x);
        }
    }
    /// A module's parameters and `adam`'s moments for them (see the module docs).
    pub fn module<M: Module>(&mut self, module: &M, adam: &Adam) -> Result<(), LabError> {
        let Adam::Host(host) = adam else {
            return Err(short("only the CPU backend's optimiser state can be saved"));
        };
        let mut c = Collect(Vec::new());
        module.visit(&mut c);
        self.u64(c.0.len() as u64);
        for (id, shape, data) in c.0 {
            self.usizes(&shape);
            let values = data
                .try_into_vec_as::<f32>()
                .map_err(|e| short(&format!("reading a parameter: {e:?}")))?;
            self.f32s(&values);
            match host.moments(&id) {
                Some((time, m, v)) => {
                    self.u64(1);
                    self.u64(u64::from(time as u32));
                    self.f32s(m);
                    self.f32s(v);
                }
                None => self.u64(0),
            }
        }
        Ok(())
    }
}

struct Collect(Vec<(ParamId, Vec<usize>, TensorData)>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        self.0.push((param.id, t.dims().to_vec(), t.into_data()));
    }
}

/// Reads what a [`Writer`] wrote, in the same order.
#[derive(Debug)]
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Reads `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader(bytes)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], LabError> {
        if self.0.len() < n {
            return Err(short("cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    /// A whole number.
    pub fn u64(&mut self) -> Result<u64, LabError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// A count that must fit in what is left (`each` bytes per item).
    fn count(&mut self, each: usize) -> Result<usize, LabError> {
        let n = usize::try_from(self.u64()?).map_err(|_| short("bad count"))?;
        if n.saturating_mul(each) > self.0.len() {
            return Err(short("cut short"));
        }
        Ok(n)
    }
    /// A float.
    pub fn f64(&mut self) -> Result<f64, LabError> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// An optional float.
    pub fn opt_f64(&mut self) -> Result<Option<f64>, LabError> {
        let some = self.u64()? != 0;
        let v = self.f64()?;
        Ok(some.then_some(v))
    }
    /// Floats.
    pub fn f32s(&mut self) -> Result<Vec<f32>, LabError> {
        let n = self.count(4)?;
        let b = self.take(4 * n)?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    /// Indices.
    pub fn usizes(&mut self) -> Result<Vec<usize>, LabError> {
        let n = self.count(8)?;
        (0..n)
            .map(|_| usize::try_from(self.u64()?).map_err(|_| short("bad index")))
            .collect()
    }
    /// A string.
    pub fn str(&mut self) -> Result<String, LabError> {
        let n = self.count(1)?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| short("bad text"))
    }
    /// A generator.
    pub fn rng(&mut self) -> Result<Rng, LabError> {
        Ok(Rng::from_state([
            self.u64()?,
            self.u64()?,
            self.u64()?,
            self.u64()?,
        ]))
    }
    /// Puts saved parameters into `module` (a fresh build of the same shape) and their
    /// moments into `adam`; the module keeps its parameter ids.
    pub fn module<M: Module>(&mut self, module: M, adam: &mut Adam) -> Result<M, LabError> {
        let Adam::Host(host) = adam else {
            return Err(short(
                "only the CPU backend's optimiser state can be restored",
            ));
        };
        let n = self.count(8)?;
        let mut saved = Vec::with_capacity(n);
        for _ in 0..n {
            let shape = self.usizes()?;
            let values = self.f32s()?;
            let moments = match self.u64()? {
                0 => None,
                _ => {
                    let time = i32::try_from(self.u64()?).map_err(|_| short("bad step"))?;
                    Some((time, self.f32s()?, self.f32s()?))
                }
            };
            saved.push((shape, values, moments));
        }
        let mut r = Restore {
            saved: saved.into_iter(),
            host,
            err: None,
        };
        let module = module.map(&mut r);
        if r.saved.next().is_some() {
            return Err(short("more parameters saved than the model has"));
        }
        match r.err {
            Some(e) => Err(e),
            None => Ok(module),
        }
    }
    /// Fails unless everything was read.
    pub fn done(&self) -> Result<(), LabError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(short("bytes left over"))
        }
    }
}

type Saved = (Vec<usize>, Vec<f32>, Option<(i32, Vec<f32>, Vec<f32>)>);

struct Restore<'a> {
    saved: std::vec::IntoIter<Saved>,
    host: &'a mut crate::nn::adam::HostAdam,
    err: Option<LabError>,
}

impl ModuleMapper for Restore<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some((shape, values, moments)) = self.saved.next() else {
            self.err = Some(short("fewer parameters saved than the model has"));
            return Param::from_mapped_value(id, tensor, mapper);
        };
        if shape != tensor.dims().to_vec() || values.len() != shape.iter().product::<usize>() {
            self.err = Some(short("a parameter's shape differs from the model's"));
            return Param::from_mapped_value(id, tensor, mapper);
        }
        let require_grad = tensor.is_require_grad();
        let inner = tensor.inner();
        let device = inner.device();
        let fresh = Tensor::<D>::from_data(TensorData::new(values, inner.shape()), &device);
        let t = Tensor::from_inner(fresh);
        let t = if require_grad { t.require_grad() } else { t };
        if let Some((time, m, v)) = moments {
            self.host.set_moments(id, time, m, v);
        }
        Param::from_mapped_value(id, t, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_short_input_is_refused() {
        let mut w = Writer::new();
        w.u64(7);
        w.opt_f64(Some(0.1 + 0.2));
        w.opt_f64(None);
        w.f32s(&[1.5, -0.0, f32::MIN_POSITIVE]);
        w.usizes(&[3, 1, 2]);
        w.str("lr = 0.5");
        w.rng(&Rng::new(9));
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u64().expect("u64"), 7);
        assert_eq!(r.opt_f64().expect("f64"), Some(0.1 + 0.2));
        assert_eq!(r.opt_f64().expect("none"), None);
        assert_eq!(r.f32s().expect("f32s"), vec![1.5, -0.0, f32::MIN_POSITIVE]);
        assert_eq!(r.usizes().expect("usizes"), vec![3, 1, 2]);
        assert_eq!(r.str().expect("str"), "lr = 0.5");
        assert_eq!(r.rng().expect("rng").next_u64(), Rng::new(9).next_u64());
        r.done().expect("all read");
        assert!(Reader::new(&bytes[..4]).u64().is_err());
        let mut cut = Reader::new(&bytes[..40]);
        cut.u64().expect("u64");
        cut.opt_f64().expect("f64");
        cut.opt_f64().expect("none");
        assert!(
            cut.f32s().is_err(),
            "a count beyond the bytes left is refused"
        );
    }
}
