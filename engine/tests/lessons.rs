//! Every built-in lesson plays headless to its end on its lab's tiny settings, the run is at
//! each card's step when the card shows, the series a card asks the class to look at exist by
//! the end, and the lesson's run log replays exactly. Malformed lessons are refused by line.

use trainscope_engine::Backend;
use trainscope_engine::lesson::{BUILTIN, Lesson};
use trainscope_engine::runlog::{self, Curves};

fn tiny(mut l: Lesson) -> Lesson {
    for s in l.preset.entry().expect("lab").tiny {
        l.preset.apply_set(s).expect("tiny setting");
    }
    l.fit(6);
    l
}

#[test]
fn every_lesson_plays_headless_to_its_end() {
    let lessons = Lesson::builtins().expect("lessons parse");
    assert_eq!(lessons.len(), BUILTIN.len());
    for lab in ["ff", "glom", "hetnet", "sparrow"] {
        assert!(
            lessons.iter().any(|l| l.preset.lab == lab),
            "no lesson for lab {lab}"
        );
    }
    let device = Backend::cpu().device;
    for l in lessons.into_iter().map(tiny) {
        let mut seen = Vec::new();
        let mut last = None;
        let log = l
            .play(&device, &mut |c| {
                assert_eq!(
                    c.run.step,
                    l.step_of(c.card, c.run.lab.planned_steps()),
                    "{}: card {}",
                    l.name,
                    c.index + 1
                );
                seen.push(c.index);
                let mut names: Vec<String> = c.run.series.names().to_vec();
                if let Some(b) = c.branch {
                    names.extend(b.series.names().iter().cloned());
                }
                last = Some(names);
            })
            .unwrap_or_else(|e| panic!("{}: {e}", l.name));
        assert_eq!(seen, (0..l.cards.len()).collect::<Vec<_>>(), "{}", l.name);
        // The series the cards point at exist by the end (on tiny settings too), so no card
        // asks the class to look at an empty plot.
        let names = last.unwrap_or_default();
        for c in &l.cards {
            for s in &c.look {
                assert!(
                    names.contains(s),
                    "{}: card `{}` looks at `{s}`, which the run never reports",
                    l.name,
                    c.title
                );
            }
        }
        // The lesson's own log (its scripted knob changes) replays to the same history.
        let mut live = None;
        l.play(&device, &mut |c| {
            if c.index + 1 == l.cards.len() {
                live = Some(Curves::of(&c.run.series));
            }
        })
        .expect("plays again");
        let replayed = runlog::replay(&log, &device, &mut |_| true).expect("replays");
        assert_eq!(
            live.and_then(|c| c.first_difference(&Curves::of(&replayed.series))),
            None,
            "{}",
            l.name
        );
    }
}

#[test]
fn malformed_lessons_are_refused_with_the_reason() {
    let good = "title = \"t\"\npreset = \"ff-mnist-quick\"\n\n[[card]]\nat = 5\ntitle = \"a\"\n";
    Lesson::parse(good, "x", "x.toml").expect("a minimal lesson parses");
    let err = |t: &str| {
        Lesson::parse(t, "x", "x.toml")
            .expect_err("must fail")
            .to_string()
    };
    let e = err(&format!("{good}knobs = {{ no_such_knob = 1 }}\n"));
    assert!(e.contains("no knob `no_such_knob`"), "{e}");
    let e = err(&format!("{good}knobs = {{ lr = 5.0 }}\n"));
    assert!(e.contains("`lr`") && e.contains("outside"), "{e}");
    let e = err(&format!("{good}\n[[card]]\nat = 2\ntitle = \"b\"\n"));
    assert!(e.contains("before the card ahead"), "{e}");
    let e = err(&format!("{good}colour = 3\n"));
    assert!(e.starts_with("x.toml:") && e.contains("colour"), "{e}");
    let e = err(&good.replace("ff-mnist-quick", "nope"));
    assert!(e.contains("no preset"), "{e}");
    let e = err(&format!("{good}race = [\"lr\"]\n"));
    assert!(e.contains("KEY=VALUE"), "{e}");
}
