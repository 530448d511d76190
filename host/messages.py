"""The message catalogue: message id -> (English, Chinese), rendered by ``host.i18n.text``.

Each text is a ``str.format`` template; both languages fill the same named fields (a test
checks it). Ids are grouped by where they are shown: ``cmd.*`` the one-line summary of a
command in ``sealcam --help`` (the English is the summary the command declares), ``usage.*``
the one-line refusals of unusable arguments (exit 2), ``verdict.*`` the words of a
verification verdict, ``report.*`` the labels of a verification report, ``record.*`` the
recorder's summary, ``term.*`` the officer's terminal. The Chinese is in the plain register
of public-security software: short, exact, no figures of speech.
"""

MESSAGES: "dict[str, tuple[str, str]]" = {
    # sealcam itself
    "main.description": (
        "Signed, tamper-evident evidence for enforcement recorders. Every frame chunk and "
        "event a recorder writes is an entry in one hash-chained ledger signed with the "
        "device's Ed25519 key; these commands check and manage that evidence.",
        "执法记录仪防篡改签名证据系统。记录仪写入的每个视频分段和每个事件，都是一条用设备 "
        "Ed25519 密钥签名、以哈希链相连的签名日志记录；以下命令用于校验和管理这些证据。",
    ),
    "main.epilog": (
        "Exit codes: 0 success or OK, 1 verification NOT OK, 2 unusable input. "
        "Run 'sealcam COMMAND --help' for each command.",
        "退出码：0 成功或校验通过，1 校验不通过，2 输入无法使用。"
        "各命令的用法请运行 'sealcam 命令 --help'。",
    ),
    "main.lang": (
        "language of the messages: en (English) or zh (Chinese); default from the locale "
        "(LC_ALL, LC_MESSAGES, LANG: zh_* is Chinese). JSON output is never translated",
        "提示信息的语言：en（英文）或 zh（中文）；默认依据系统区域设置"
        "（LC_ALL、LC_MESSAGES、LANG，zh_* 为中文）。JSON 输出不翻译",
    ),
    "main.failed": ("sealcam {command}: {problem}", "sealcam {command}：{problem}"),
    "main.plugin_broken": (
        "sealcam: the command plugin {name} ({value}) could not be loaded: {error}",
        "sealcam：命令插件 {name}（{value}）无法加载：{error}",
    ),
    # argparse's own words (host.cli.argwords): the English is argparse's, word for word
    "argparse.usage": ("usage: ", "用法："),
    "argparse.positional": ("\npositional arguments:\n", "\n位置参数：\n"),
    "argparse.options": ("\noptions:\n", "\n选项：\n"),
    "argparse.help": ("show this help message and exit", "显示本帮助并退出"),
    "argparse.error": ("{prog}: error: {problem}", "{prog}：错误：{problem}"),
    "argparse.argument": ("argument {name}: {problem}", "参数 {name}：{problem}"),
    "argparse.required": (
        "the following arguments are required: {names}",
        "缺少必需的参数：{names}",
    ),
    "argparse.one_required": (
        "one of the arguments {names} is required",
        "以下参数必须给出一个：{names}",
    ),
    "argparse.unrecognized": ("unrecognized arguments: {args}", "无法识别的参数：{args}"),
    "argparse.choice": (
        "invalid choice: {value} (choose from {choices})",
        "无效的选项：{value}（可选：{choices}）",
    ),
    "argparse.one_value": ("expected one argument", "此参数需要一个值"),
    "argparse.not_with": ("not allowed with argument {other}", "不能与参数 {other} 同时使用"),
    "argparse.invalid_value": ("invalid {type} value: {value}", "无效的 {type} 值：{value}"),
    # one line per command in `sealcam --help`
    "cmd.verify": ("check a ledger against a device's public key", "用设备公钥校验签名日志"),
    "cmd.ledger": (
        "export a device store's ledger as one file",
        "将设备存储的签名日志导出为单个文件",
    ),
    "cmd.ledger export": (
        "write the store's ledger entries to one file",
        "把存储中的签名日志条目写入一个文件",
    ),
    "cmd.checkpoint": (
        "export the evidence store's newest signed checkpoint for a witness",
        "导出证据库最新的签名检查点，交见证方保存",
    ),
    "cmd.checkpoint export": (
        "write the newest signed checkpoint (a signed note)",
        "写出最新的签名检查点（一份签名文件）",
    ),
    "cmd.keygen": (
        "make a device key pair (simulated devices, tests), or the agency's keys",
        "生成设备密钥对（用于模拟设备和测试），或生成单位密钥",
    ),
    "cmd.record": (
        "run the recorder agent on this machine (Linux terminal port)",
        "在本机运行记录仪程序（Linux 终端版）",
    ),
    "cmd.enrol": ("enrol device public keys in an evidence store", "将设备公钥登记到证据库"),
    "cmd.sync": (
        "collect footage from devices over TCP and serial",
        "通过 TCP 或串口从设备采集录像",
    ),
    "cmd.dock": (
        "sync a device store to a host (the device's side)",
        "将设备存储同步到采集站（设备端）",
    ),
    "cmd.demo": (
        "the main job end to end: a virtual shift, docked, verified, exported, tampered",
        "完整流程演示：模拟一个班次，采集、校验、导出，并演示篡改被发现",
    ),
    "cmd.export": (
        "export a recording as a video file with its extraction note",
        "将一段录像导出为视频文件，并附提取说明",
    ),
    "cmd.flash": (
        "flash the agent onto a MicroPython board and provision it",
        "将记录仪程序烧录到 MicroPython 开发板并完成初始化",
    ),
    "cmd.sim": (
        "virtual recorders: run a scenario, serve a virtual MicroPython board",
        "模拟记录仪：运行测试场景，提供虚拟 MicroPython 开发板",
    ),
    "cmd.sim run": (
        "run a scenario file and check the host's verdict",
        "运行场景文件并核对采集站的校验结论",
    ),
    "cmd.sim board": (
        "run a virtual MicroPython board on a pseudo-terminal",
        "在伪终端上运行虚拟 MicroPython 开发板",
    ),
    # host/cli/common.py: arguments that cannot be used (exit 2)
    "usage.id_too_long": (
        "{what} is {length} characters long; the protocol allows ids of 1..{limit} "
        "characters: choose a shorter one",
        "{what}长 {length} 个字符；协议允许的编号长度为 1 至 {limit} 个字符，请改用更短的编号",
    ),
    "usage.what_device_id": ("the device id", "设备编号"),
    "usage.what_host_id": ("the host id", "采集站编号"),
    "usage.public_not_private": (
        "{path} is a public key; the host needs its private key to sign",
        "{path} 是公钥文件；采集站签名需要其私钥文件",
    ),
    "usage.address": (
        "give an address as HOST:PORT (a port up to 65535), not {text!r}",
        "地址格式应为 主机:端口（端口不大于 65535），而不是 {text!r}",
    ),
    "usage.number_at_least": (
        "give a number of at least {minimum:g}, not {text!r}",
        "请给出不小于 {minimum:g} 的数值，而不是 {text!r}",
    ),
    "usage.number_above": (
        "give a number above {minimum:g}, not {text!r}",
        "请给出大于 {minimum:g} 的数值，而不是 {text!r}",
    ),
    # verdict words (protocol.verify, host.mp4verify states)
    "verdict.ok": ("OK", "通过"),
    "verdict.ok_missing": ("OK with missing information", "通过（信息缺失）"),
    "verdict.not_ok": ("NOT OK", "不通过"),
    "verdict.unknown_key": ("unknown key", "密钥未知"),
    "verdict.authentic": ("AUTHENTIC", "真实"),
    "verdict.authentic_notes": ("AUTHENTIC WITH NOTES", "真实（附说明）"),
    "verdict.missing_parts": ("MISSING PARTS", "部分缺失"),
    "verdict.unverifiable": ("UNVERIFIABLE", "无法验证"),
    "verdict.altered": ("ALTERED", "已被篡改"),
    # host/mp4verify.py: the closing line of `sealcam verify FILE.mp4`
    "mp4.verdict.authentic": (
        "✓ {word}: every signed fragment is in the file, unchanged and in order",
        "✓ {word}：所有签名片段都在文件中，未被改动，顺序无误",
    ),
    "mp4.verdict.authentic_notes": (
        "✓ {word}: every signed fragment is in the file, unchanged and in order; the notes "
        "above are not footage and carry no signature",
        "✓ {word}：所有签名片段都在文件中，未被改动，顺序无误；上面的说明不是录像内容，不带签名",
    ),
    "mp4.verdict.missing_parts": (
        "✗ {word}: what is in the file is as signed, but not all of it",
        "✗ {word}：文件中的内容与签名一致，但并不完整",
    ),
    "mp4.verdict.unverifiable": (
        "✗ {word}: no key or certificate given that signed this (see above)",
        "✗ {word}：所给的密钥或证书都不是签署本文件的那一个（见上文）",
    ),
    "mp4.verdict.altered": (
        "✗ {word}: the file is not what the device signed (see the findings above)",
        "✗ {word}：文件已不是设备签名时的样子（见上文的检查结果）",
    ),
    "mp4.verdict.unsigned": (
        "✗ NOT SIGNED: nothing in this file can be checked",
        "✗ 未签名：本文件中没有任何可校验的内容",
    ),
    # host/report_text.py: a ledger's verification report
    "report.ledger": ("Ledger   {source}", "签名日志  {source}"),
    "report.device": ("Device   {device}", "设备      {device}"),
    "report.entries": (
        "Entries  {entries} ({signed} signed)",
        "记录数    {entries}（已签名 {signed}）",
    ),
    "report.seq": (", seq {first} to {last}", "，序号 {first} 至 {last}"),
    "report.time": ("Time     {first} to {last}", "时间      {first} 至 {last}"),
    "report.no_time": ("Time     none", "时间      无"),
    "report.state": ("State    {mark} {state}", "结论      {mark} {state}"),
    "report.findings": ("Findings", "发现的问题"),
    # the officer's terminal (firmware.ports.terminalkeys, firmware.ports.cpython.Terminal)
    "key.title": ("Keys:", "按键说明："),
    "key.record": (
        "  {key}  record (pre-record runs until then)",
        "  {key}  开始录像（此前为预录）",
    ),
    "key.announced": ("  {key}  announcement said", "  {key}  已宣读告知语"),
    "key.narrated": (
        "  {key}  time, place, officers and action narrated",
        "  {key}  已口述时间、地点、执法人员和执法事项",
    ),
    "key.pause": (
        "  {key}  pause, with a reason from the list",
        "  {key}  暂停录像（从列表选择原因）",
    ),
    "key.resume": ("  {key}  resume, then state the reason", "  {key}  恢复录像，并口述中断原因"),
    "key.reason_done": ("  {key}  reason stated", "  {key}  中断原因陈述完毕"),
    "key.mark": ("  {key}  mark this moment important", "  {key}  标记为重点"),
    "key.no_record": (
        "  {key}  work record: a duty that cannot be recorded, with its reason",
        "  {key}  无法录像的工作记录（选择原因）",
    ),
    "key.stop": ("  {key}  stop recording", "  {key}  停止录像"),
    "key.quit": ("  {key}  stop and quit", "  {key}  停止并退出"),
    "key.help": ("  {key}  show these keys", "  {key}  显示按键说明"),
    "key.unknown": (
        "no key {key}: press h for the keys",
        "无此按键 {key}：按 h 查看按键说明",
    ),
    "key.not_now": ("not possible now ({state})", "当前状态（{state}）下不能执行此操作"),
    "menu.pause": ("Why pause? Press the number:", "暂停原因（按数字选择）："),
    "menu.no_record": (
        "Why can it not be recorded? Press the number:",
        "无法录像的原因（按数字选择）：",
    ),
    "menu.note": (
        "Type a short note and press Enter (Esc cancels):",
        "请输入简要说明，按回车确认（按 Esc 取消）：",
    ),
    "menu.cancelled": ("cancelled", "已取消"),
    "reason.item": ("  {key}  {reason}", "  {key}  {reason}"),
    "reason.cancel": ("  any other key cancels", "  按其他键取消"),
    "pause.fault": ("equipment fault", "设备故障"),
    "pause.damage": ("equipment damaged", "设备损坏"),
    "pause.weather": ("weather", "恶劣天气"),
    "pause.battery": ("battery low", "电量不足"),
    "pause.storage": ("storage full", "存储空间不足"),
    "pause.place-change": ("moving to another place", "转换执法场所"),
    "pause.obstruction": ("obstructed", "现场受阻"),
    "pause.other": ("other objective reason", "其他客观原因"),
    "no_record.explosive-area": ("explosive area", "易燃易爆场所"),
    "no_record.secrecy": ("secrecy", "涉及秘密"),
    "no_record.privacy": ("privacy", "涉及个人隐私"),
    "no_record.emergency": ("emergency", "紧急情况"),
    "no_record.objective-cause": ("other objective cause", "其他客观原因"),
    "state.SELF_CHECK": ("self-check", "自检中"),
    "state.IDLE": ("ready", "待机"),
    "state.PRE_RECORD": ("pre-record", "预录中"),
    "state.RECORDING": ("RECORDING", "录像中"),
    "state.RESUMING": ("RECORDING, stating the reason", "录像中（陈述中断原因）"),
    "state.PAUSED": ("PAUSED", "已暂停"),
    "state.REFUSING": ("CANNOT RECORD", "无法录像"),
    "status.line": (
        "[{state}] {time}  battery {battery}  storage {hours} h  chunks {chunks}",
        "[{state}] {time}  电量 {battery}  可录 {hours} 小时  分段 {chunks}",
    ),
    "buzzer.power-on": ("recorder on", "记录仪已开机"),
    "buzzer.record-start": ("recording started", "开始录像"),
    "buzzer.record-stop": ("recording stopped", "停止录像"),
    "buzzer.pause": ("recording paused", "录像已暂停"),
    "buzzer.resume": ("recording resumed", "录像已恢复"),
    "buzzer.mark": ("marked important", "已标记重点"),
    "buzzer.refused": ("recording refused", "拒绝录像"),
    "buzzer.alert": ("alert", "警示"),
    "prompt.announce": (
        'Say the announcement: "{text}" then press a',
        "请宣读：“{text}”宣读完毕按 a",
    ),
    "prompt.narrate": ("Narrate: {text}; then press n", "{text}；口述完毕按 n"),
    "prompt.reason": (
        "State the reason for the pause ({text}); it is recorded from the microphone; "
        "press d when done",
        "{text}（正在通过麦克风录音），说完按 d",
    ),
    "prompt.other": ("Device: {text}", "提示：{text}"),
    # host/cli/record.py: the recorder's summary
    "record.summary": (
        "recorded {frames} {codec} frames and {sound} into {store}: {entries} ledger "
        "entries, {media_bytes} media bytes; ledger {state}",
        "已录制 {frames} 帧 {codec} 画面，{sound}，存入 {store}：签名日志 {entries} 条，"
        "媒体 {media_bytes} 字节；签名日志校验{state}",
    ),
    "record.sound": ("{count} audio frames", "声音 {count} 帧"),
    "record.no_sound": ("no sound", "无声音"),
    "record.bad_agency": (
        "{path} must hold the agency's 32-byte X25519 public key",
        "{path} 应为单位的 32 字节 X25519 公钥文件",
    ),
    "record.wrong_device": (
        "{path} belongs to device {device}, not {given}",
        "{path} 属于设备 {device}，不是 {given}",
    ),
    "record.public_key": (
        "{path} is a public key; the recorder needs its private key",
        "{path} 是公钥文件；记录仪需要其私钥文件",
    ),
    "record.no_key": (
        "no device key at {path}: pass --device-id to provision one",
        "{path} 处没有设备密钥：请用 --device-id 生成设备密钥",
    ),
    "record.no_store": ("cannot make the store {path}: {why}", "无法创建存储目录 {path}：{why}"),
    "record.keys_and_input": (
        "--keys - and --input - both read standard input: give the key script as a file",
        "--keys - 与 --input - 都要读取标准输入：请把按键脚本写成文件",
    ),
    "record.source_failed": (
        "sealcam record: {problem}; the recording was stopped and is signed up to there",
        "sealcam record：{problem}；录像已停止，此前的内容均已签名",
    ),
    "record.input_ended_early": (
        "sealcam record: the input ended {how} after {frames} frames: the recording was "
        "stopped there and everything before it is signed; check the encoder and its pipe",
        "sealcam record：输入在 {frames} 帧后中断（{how}）：录像已在此停止，此前的内容均已签名；"
        "请检查编码器及其管道",
    ),
    "prompt.no_mic": (
        "no microphone (--mic): the reason cannot be recorded, and the host will flag it",
        "未接麦克风（--mic）：中断原因无法录音，采集站将标记此问题",
    ),
    # acting as a person on the evidence (host.cli.auth)
    "auth.evidence": ("the evidence store directory", "证据库目录"),
    "auth.user": (
        "act as this user (default: ${env}); the password comes from ${password_env}, "
        "else a prompt",
        "以该用户身份操作（默认取 ${env}）；密码取自 ${password_env}，否则在终端提示输入",
    ),
    "auth.no_user": (
        "say who is acting: --user NAME (or set {env})",
        "请指明操作人：--user 用户名（或设置 {env}）",
    ),
    "auth.no_password": (
        "no password: set {env} or run the command on a terminal to be asked for it",
        "未提供密码：请设置 {env}，或在终端中运行本命令以输入密码",
    ),
    "auth.prompt": ("password for {name}: ", "{name} 的密码："),
    "auth.no_store": (
        "{path} is not an evidence store (no evidence.db): check the path; "
        "sealcam enrol or sealcam sync makes a store",
        "{path} 不是证据库（没有 evidence.db）：请检查路径；"
        "证据库由 sealcam enrol 或 sealcam sync 创建",
    ),
    "auth.unsigned": (
        "warning: the host key {path} cannot be used ({problem}): the action is recorded, "
        "and the next checkpoint will sign it",
        "警告：主机密钥 {path} 无法使用（{problem}）：操作已记录，将由下一个检查点签名",
    ),
    # evidence staff: accounts, settings, items and the audit trail (host.cli.people,
    # host.cli.setting, host.cli.items, host.cli.audit; refusals of host.access, host.people)
    "cmd.user": (
        "manage the accounts of the people who use an evidence store",
        "管理证据库的用户账号",
    ),
    "cmd.user add": (
        "add an account (the first one: an administrator, no login needed)",
        "添加账号（第一个账号必须是管理员，无需登录）",
    ),
    "cmd.user list": ("list the accounts, their roles and state", "列出账号及其角色和状态"),
    "cmd.user passwd": (
        "change your password, or (administrator) reset another's",
        "修改本人密码，或由管理员重置他人密码",
    ),
    "cmd.user disable": ("disable an account (administrator)", "停用账号（管理员）"),
    "cmd.user enable": (
        "enable a disabled account again (administrator)",
        "重新启用已停用的账号（管理员）",
    ),
    "cmd.setting": (
        "show or change the agency's settings: time zone, host key",
        "查看或修改本单位设置：时区、主机密钥",
    ),
    "cmd.setting show": ("show the agency's settings", "显示本单位设置"),
    "cmd.setting set": (
        "change a setting (administrator; recorded with the old and new value)",
        "修改设置（管理员；新旧值均记入审计日志）",
    ),
    "cmd.items": (
        "list the recordings and derivatives in an evidence store, newest first",
        "列出证据库中的原始录像和衍生文件，最新的在前",
    ),
    "cmd.audit": (
        "show the chain of custody of an item, or everything one person did",
        "显示一项证据的保管链，或某人的全部操作",
    ),
    "role.administrator": ("administrator", "管理员"),
    "role.evidence-clerk": ("evidence-clerk", "证据管理员"),
    "role.legal-reviewer": ("legal-reviewer", "法制审核员"),
    "role.approver": ("approver", "审批人"),
    "role.officer": ("officer", "执法人员"),
    "access.not_allowed": (
        "{name} may not {action}: it needs the role {roles}",
        "{name} 无权执行 {action}：需要角色 {roles}",
    ),
    "access.or": (" or ", " 或 "),
    "access.not_own": (
        "{item} is not a recording of officer {officer}: an officer reaches only their own",
        "{item} 不是执法人员 {officer} 的录像：执法人员只能访问本人的录像",
    ),
    "access.locked": (
        "too many wrong passwords for {name}: locked until {until}; the attempts are in the "
        "audit trail",
        "{name} 密码错误次数过多：锁定至 {until}；各次尝试已记入审计日志",
    ),
    "access.disabled": (
        "the account {name} is disabled: ask an administrator",
        "账号 {name} 已停用：请联系管理员",
    ),
    "access.wrong_password": (
        "wrong user name or password for {name} (the attempt is recorded)",
        "{name} 的用户名或密码错误（本次尝试已记录）",
    ),
    "people.unknown_role": (
        "unknown role {unknown}: give one or more of {roles}, separated by commas",
        "未知角色 {unknown}：请从 {roles} 中选择一个或多个，以逗号分隔",
    ),
    "people.password_short": (
        "a password needs at least {least} characters",
        "密码至少需要 {least} 个字符",
    ),
    "people.password_long": (
        "a password may have at most {most} characters",
        "密码最多 {most} 个字符",
    ),
    "people.bad_name": (
        "a user name is 1 to {most} printable characters, no commas and no spaces at its ends",
        "用户名为 1 至 {most} 个可打印字符，不含逗号，首尾不能有空格",
    ),
    "people.officer_needs_id": (
        "an officer account needs the officer id their recordings bear (--officer-id)",
        "执法人员账号需要填写其录像中记录的警号（--officer-id）",
    ),
    "people.name_taken": (
        "there is already a user named {name}",
        "已有名为 {name} 的用户",
    ),
    "user.description": (
        "The people who use an evidence store, each with one or more roles: administrator "
        "(accounts and settings), evidence-clerk (the evidence room's work), legal-reviewer, "
        "approver (approvals for restricted footage, deletions), officer (their own "
        "recordings only). Every change is recorded in the audit trail, never a password.",
        "证据库的使用人员，每人一个或多个角色：administrator 管理员（账号和设置）、"
        "evidence-clerk 证据管理员（证据室日常工作）、legal-reviewer 法制审核员、"
        "approver 审批人（涉密录像和删除的审批）、officer 执法人员（仅限本人录像）。"
        "每次变更都记入审计日志，密码除外。",
    ),
    "user.epilog": (
        "Example: SEALCAM_NEW_PASSWORD=... sealcam user add --evidence evidence/ --name admin "
        "--role administrator; then sealcam user add --evidence evidence/ --user admin "
        "--name wang --role officer --officer-id P-0427",
        "示例：SEALCAM_NEW_PASSWORD=... sealcam user add --evidence evidence/ --name admin "
        "--role administrator；之后 sealcam user add --evidence evidence/ --user admin "
        "--name wang --role officer --officer-id P-0427",
    ),
    "user.add_description": (
        "Add an account. The first account of a store must be an administrator and is made "
        "without a login; later ones are made by an administrator (--user). The new "
        "password comes from {env}, else it is asked for twice.",
        "添加账号。证据库的第一个账号必须是管理员，无需登录；之后的账号由管理员（--user）"
        "添加。新密码取自 {env}，否则在终端输入两次。",
    ),
    "user.add_epilog": (
        "Example: sealcam user add --evidence evidence/ --user admin --name li "
        '--role evidence-clerk,approver --display "Li Na"',
        "示例：sealcam user add --evidence evidence/ --user admin --name li "
        '--role evidence-clerk,approver --display "李娜"',
    ),
    "user.name_new": ("the new account's user name", "新账号的用户名"),
    "user.role": (
        "one or more roles, separated by commas: {roles}",
        "一个或多个角色，以逗号分隔：{roles}",
    ),
    "user.officer_id": (
        "for an officer: the officer id the recorders write into their recordings",
        "执法人员必填：记录仪写入其录像的警号",
    ),
    "user.display": ("the person's name as shown (optional)", "显示的姓名（可选）"),
    "user.list_description": (
        "List every account: roles, officer id, whether it is active, disabled or locked, "
        "and since when it exists. The listing is recorded in the audit trail.",
        "列出全部账号：角色、警号、状态（正常、停用或锁定）及创建时间。本次查看记入审计日志。",
    ),
    "user.list_epilog": (
        "Example: sealcam user list --evidence evidence/ --user admin --json",
        "示例：sealcam user list --evidence evidence/ --user admin --json",
    ),
    "user.json": (
        "print the accounts as JSON (times in UTC milliseconds)",
        "以 JSON 输出账号（时间为 UTC 毫秒）",
    ),
    "user.passwd_description": (
        "Change your own password (you log in with the old one), or, as an administrator, "
        "reset another account's (--name), which also ends a lock. The new password comes "
        "from {env}, else it is asked for twice.",
        "修改本人密码（用旧密码登录），或由管理员重置他人密码（--name），同时解除锁定。"
        "新密码取自 {env}，否则在终端输入两次。",
    ),
    "user.passwd_epilog": (
        "Example: sealcam user passwd --evidence evidence/ --user admin --name wang",
        "示例：sealcam user passwd --evidence evidence/ --user admin --name wang",
    ),
    "user.name_passwd": (
        "whose password (default: your own; another's needs an administrator)",
        "修改谁的密码（默认本人；修改他人密码需管理员）",
    ),
    "user.disable_description": (
        "Disable an account: it can no longer log in; its records stay. The last active "
        "administrator cannot be disabled.",
        "停用账号：该账号不能再登录，其记录保留。最后一个在用的管理员账号不能停用。",
    ),
    "user.disable_epilog": (
        "Example: sealcam user disable --evidence evidence/ --user admin --name wang",
        "示例：sealcam user disable --evidence evidence/ --user admin --name wang",
    ),
    "user.enable_description": (
        "Enable a disabled account again.",
        "重新启用已停用的账号。",
    ),
    "user.enable_epilog": (
        "Example: sealcam user enable --evidence evidence/ --user admin --name wang",
        "示例：sealcam user enable --evidence evidence/ --user admin --name wang",
    ),
    "user.name_existing": ("the account's user name", "账号的用户名"),
    "user.no_new_password": (
        "no new password: set {env} or run the command on a terminal to be asked for it",
        "未提供新密码：请设置 {env}，或在终端中运行本命令以输入新密码",
    ),
    "user.prompt_new": ("new password for {name}: ", "{name} 的新密码："),
    "user.prompt_again": ("the same password again: ", "再次输入新密码："),
    "user.passwords_differ": (
        "the two passwords differ: nothing was changed; run the command again",
        "两次输入的密码不一致：未作任何修改；请重新运行本命令",
    ),
    "user.roles_sep": (", ", "、"),
    "user.no_such_user": (
        "there is no user named {name} (sealcam user list shows them)",
        "没有名为 {name} 的用户（sealcam user list 可列出全部用户）",
    ),
    "user.none_yet": (
        "the store {evidence} has no accounts yet: make the administrator first: sealcam user "
        "add --evidence {evidence} --name NAME --role administrator",
        "证据库 {evidence} 尚无账号：请先创建管理员：sealcam user add --evidence {evidence} "
        "--name 用户名 --role administrator",
    ),
    "user.not_first_any_more": (
        "someone made the first account meanwhile: run the command again with --user",
        "其他人已先创建了第一个账号：请加上 --user 重新运行本命令",
    ),
    "user.first_must_administer": (
        "the first account of a store must have the role {role}: it makes the others",
        "证据库的第一个账号必须具有 {role} 角色：其他账号由它创建",
    ),
    "user.added": ("added the user {name} ({roles})", "已添加用户 {name}（{roles}）"),
    "user.added_first": (
        "added the user {name} ({roles}), the store's first account; from now on every "
        "command on this store acts as a user (--user)",
        "已添加用户 {name}（{roles}），这是本证据库的第一个账号；此后对本证据库的每条命令"
        "都须以用户身份执行（--user）",
    ),
    "user.list_head": (
        "{count} account(s); times in {zone}",
        "共 {count} 个账号；时间为 {zone}",
    ),
    "user.list_row": (
        "{name} {roles} {officer} {state} {since}  {display}",
        "{name} {roles} {officer} {state} {since}  {display}",
    ),
    "user.state_active": ("active", "正常"),
    "user.state_disabled": ("disabled", "已停用"),
    "user.state_locked": ("locked until {until}", "锁定至 {until}"),
    "user.password_set": ("your password is changed ({name})", "已修改您的密码（{name}）"),
    "user.password_reset": (
        "the password of {name} is reset (a lock, if any, is ended)",
        "已重置 {name} 的密码（如有锁定已解除）",
    ),
    "user.last_administrator": (
        "{name} is the last active administrator: make or enable another one first",
        "{name} 是最后一个在用的管理员：请先创建或启用另一个管理员",
    ),
    "user.disabled": ("disabled the user {name}", "已停用用户 {name}"),
    "user.enabled": ("enabled the user {name}", "已启用用户 {name}"),
    "setting.description": (
        "The agency's settings: time-zone (every time a person reads is shown in it; an "
        "IANA name, default Asia/Shanghai) and host-key (the private key the store signs "
        "its log with after every action). Changing one needs an administrator and is "
        "recorded with the old and the new value.",
        "本单位设置：time-zone 时区（所有显示给人看的时间都按此时区；IANA 名称，默认 "
        "Asia/Shanghai）和 host-key 主机密钥（每次操作后证据库用此私钥签署日志）。修改需管理员，"
        "新旧值均记入审计日志。",
    ),
    "setting.epilog": (
        "Example: sealcam setting set --evidence evidence/ --user admin time-zone Asia/Shanghai",
        "示例：sealcam setting set --evidence evidence/ --user admin time-zone Asia/Shanghai",
    ),
    "setting.show_description": (
        "Show every setting and whether it is the default.",
        "显示全部设置及其是否为默认值。",
    ),
    "setting.show_epilog": (
        "Example: sealcam setting show --evidence evidence/ --user admin --json",
        "示例：sealcam setting show --evidence evidence/ --user admin --json",
    ),
    "setting.json": ("print the settings as JSON", "以 JSON 输出设置"),
    "setting.set_description": (
        "Change a setting (administrator). time-zone must be a zone this machine knows; "
        "host-key must be a private key file (sealcam keygen --host-id writes one), kept by "
        "its absolute path.",
        "修改设置（管理员）。time-zone 必须是本机已知的时区；host-key 必须是私钥文件"
        "（由 sealcam keygen --host-id 生成），按绝对路径保存。",
    ),
    "setting.set_epilog": (
        "Example: sealcam setting set --evidence evidence/ --user admin host-key "
        "keys/agency-host-1.key",
        "示例：sealcam setting set --evidence evidence/ --user admin host-key "
        "keys/agency-host-1.key",
    ),
    "setting.name": ("the setting: time-zone or host-key", "设置名：time-zone 或 host-key"),
    "setting.value": (
        "its new value: an IANA zone name, or a private key file",
        "新值：IANA 时区名，或私钥文件",
    ),
    "setting.bad_zone": (
        "{zone} is not a time zone name (give an IANA name such as Asia/Shanghai)",
        "{zone} 不是时区名（请给出 IANA 名称，如 Asia/Shanghai）",
    ),
    "setting.changed": (
        "{name}: {old} -> {new} (recorded in the audit trail)",
        "{name}：{old} -> {new}（已记入审计日志）",
    ),
    "setting.unset": ("(not set)", "（未设置）"),
    "setting.default": ("(default)", "（默认）"),
    "items.description": (
        "The recordings (DEVICE/N, N the recording number) and the derivatives made from "
        "them (DEVICE/N~HEX: exports, clips), newest first, times in the agency's zone. "
        "An officer sees only their own recordings. The listing is recorded in the audit "
        "trail.",
        "列出原始录像（DEVICE/N，N 为录像编号）及由其生成的衍生文件（DEVICE/N~HEX：导出件、"
        "剪辑），最新的在前，时间按本单位时区显示。执法人员只能看到本人的录像。本次查看记入"
        "审计日志。",
    ),
    "items.epilog": (
        "Example: sealcam items --evidence evidence/ --user li --officer P-0427 --since "
        "2026-12-01 --until 2026-12-05",
        "示例：sealcam items --evidence evidence/ --user li --officer P-0427 --since "
        "2026-12-01 --until 2026-12-05",
    ),
    "items.officer": (
        "only the recordings of this officer id (an officer: only their own)",
        "只列出该警号的录像（执法人员只能查看本人的）",
    ),
    "items.device": ("only the items of this device", "只列出该设备的项目"),
    "items.since": (
        "only items started at or after this local date or time (YYYY-MM-DD [HH:MM])",
        "只列出在此本地日期或时间之后开始的项目（YYYY-MM-DD [HH:MM]）",
    ),
    "items.until": (
        "only items started before this local time; a date alone includes that whole day",
        "只列出在此本地时间之前开始的项目；只给日期时包括当天全天",
    ),
    "items.limit": ("show at most this many (default {limit})", "最多显示这么多项（默认 {limit}）"),
    "items.json": (
        "print the items as JSON (times in UTC milliseconds)",
        "以 JSON 输出（时间为 UTC 毫秒）",
    ),
    "items.bad_date": (
        "{text} is not a local date or time: give YYYY-MM-DD or YYYY-MM-DD HH:MM",
        "{text} 不是本地日期或时间：请给出 YYYY-MM-DD 或 YYYY-MM-DD HH:MM",
    ),
    "items.bad_limit": ("{text} is not a whole number of at least 1", "{text} 不是不小于 1 的整数"),
    "items.not_own": (
        "{name} is an officer and may list only their own recordings, not those of {officer}",
        "{name} 是执法人员，只能列出本人的录像，不能列出 {officer} 的录像",
    ),
    "items.head": (
        "{count} item(s), newest first; times in {zone}",
        "共 {count} 项，最新的在前；时间为 {zone}",
    ),
    "items.row": (
        "{item} {started}  {officer} {what}",
        "{item} {started}  {officer} {what}",
    ),
    "items.recording": (
        "recording, {length}, {chunks} chunk(s), {size}",
        "原始录像，时长 {length}，{chunks} 个分段，{size}",
    ),
    "items.not_stopped": (", not stopped yet", "，尚未停止"),
    "items.derivative": (
        "derivative of {origin} {note}",
        "{origin} 的衍生文件 {note}",
    ),
    "items.more": (
        "(the newest {limit} only: narrow with --since and --until, or raise --limit)",
        "（仅显示最新的 {limit} 项：可用 --since 和 --until 缩小范围，或加大 --limit）",
    ),
    "audit.description": (
        "The audit trail, hash-chained and signed: every view, play, export, change, "
        "approval, refusal and login. --item lists the chain of custody of one item (for "
        "a recording, with its derivatives); --of lists everything one person did. --user "
        "is, as for every command, who is reading: the reading is recorded too. (The "
        "person whose actions are listed is --of, not --user, since --user always names "
        "who is acting.)",
        "审计日志以哈希链相连并经签名：每次查看、播放、导出、修改、审批、拒绝和登录。--item "
        "列出一项证据的保管链（录像连同其衍生文件）；--of 列出某人的全部操作。--user 与其他"
        "命令一样是查阅人，本次查阅也被记录。（被查的人用 --of 指定而不是 --user，因为 "
        "--user 总是指操作人。）",
    ),
    "audit.epilog": (
        "Examples: sealcam audit --evidence evidence/ --user li --item SC-0001/42; "
        "sealcam audit --evidence evidence/ --user admin --of wang --csv > wang.csv",
        "示例：sealcam audit --evidence evidence/ --user li --item SC-0001/42；"
        "sealcam audit --evidence evidence/ --user admin --of wang --csv > wang.csv",
    ),
    "audit.item": (
        "an item id (DEVICE/N or DEVICE/N~HEX), or a case number or user name",
        "项目编号（DEVICE/N 或 DEVICE/N~HEX），或案件编号、用户名",
    ),
    "audit.of": ("the user whose actions to list", "要列出其操作的用户"),
    "audit.csv": (
        "print CSV: UTC milliseconds and the local time",
        "以 CSV 输出：UTC 毫秒及本地时间",
    ),
    "audit.json": (
        "print JSON (times in UTC milliseconds, at_ms)",
        "以 JSON 输出（时间为 UTC 毫秒，at_ms）",
    ),
    "audit.head_item": (
        "chain of custody of {item}: {count} record(s); times in {zone}",
        "{item} 的保管链：共 {count} 条记录；时间为 {zone}",
    ),
    "audit.with_derivatives": (
        " (with its derivatives {ids})",
        "（含衍生文件 {ids}）",
    ),
    "audit.head_of": (
        "actions of {name}: {count} record(s); times in {zone}",
        "{name} 的操作：共 {count} 条记录；时间为 {zone}",
    ),
    "outcome.done": ("done", "完成"),
    "outcome.refused": ("refused", "拒绝"),
    "action.login": ("login", "登录"),
    "action.login-failed": ("login-failed", "登录失败"),
    "action.view": ("view", "查看"),
    "action.play": ("play", "播放"),
    "action.export": ("export", "导出"),
    "action.share": ("share", "提供他人"),
    "action.lend": ("lend", "借出"),
    "action.publish": ("publish", "公开"),
    "action.categorise": ("categorise", "分类标注"),
    "action.case-change": ("case-change", "案件变更"),
    "action.link-case": ("link-case", "关联案件"),
    "action.retention-change": ("retention-change", "保存期限变更"),
    "action.policy-change": ("policy-change", "设置变更"),
    "action.hold": ("hold", "冻结保存"),
    "action.release-hold": ("release-hold", "解除冻结"),
    "action.delete-request": ("delete-request", "申请删除"),
    "action.delete-approve": ("delete-approve", "批准删除"),
    "action.delete-undo": ("delete-undo", "撤销删除"),
    "action.delete": ("delete", "删除"),
    "action.restrict": ("restrict", "标记涉密"),
    "action.request-approval": ("request-approval", "申请审批"),
    "action.approve": ("approve", "批准"),
    "action.refuse": ("refuse", "不予批准"),
    "action.review": ("review", "审核"),
    "action.user-add": ("user-add", "添加用户"),
    "action.user-change": ("user-change", "用户变更"),
    "action.password-change": ("password-change", "修改密码"),
    "action.audit-read": ("audit-read", "查阅审计日志"),
    "verify.audit_ok": (
        "Audit    {count} record(s), chained and in the log",
        "审计     {count} 条记录，哈希链完整且已计入日志",
    ),
    "verify.audit_broken": (
        "Audit    {count} record(s): ALTERED (see the findings)",
        "审计     {count} 条记录：已被篡改（见下方问题）",
    ),
}
